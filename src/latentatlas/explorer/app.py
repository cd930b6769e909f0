"""The explorer's web app: a JSON API over ``Explorer`` and one static page (no CDN, no build).

Every request is validated: a latent of the wrong length, rows of different lengths, NaN,
infinite or huge values, more than 4,096 codes, an unknown run or concept, a string over its
length limit, or a body over 1 MB is a 4xx answer with a message.
Runs are addressed by id, never by a path from the client. Requests naming another host, and
writes from another site, are refused (``explorer.guard``); a JSON body must say it is JSON.
"""

from __future__ import annotations

import base64
import math
from importlib import resources
from typing import Literal

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..concepts.store import NAME_MAX
from ..errors import UserError
from .batching import DecodeBatcher
from .guard import HostGuard, send_json, served_names
from .session import MAX_BATCH, Explorer, RunView

MAX_BODY = 1_000_000  # bytes


class DecodeRequest(BaseModel):
    z: list[list[float]] = Field(..., min_length=1, max_length=MAX_BATCH)


class OneCode(BaseModel):
    z: list[float] = Field(..., min_length=1, max_length=4096)


class InterpolateRequest(BaseModel):
    a: int
    b: int
    steps: int = 8
    method: Literal["lerp", "slerp"] = "slerp"


class ConceptRequest(BaseModel):
    name: str = Field(..., min_length=1, max_length=NAME_MAX)
    positive: list[int] = Field(..., min_length=2, max_length=5000)
    negative: list[int] = Field(..., min_length=2, max_length=5000)
    method: Literal["groups", "probe"] = "groups"


class TranslateRequest(BaseModel):
    to: str = Field(..., min_length=1, max_length=64)
    z: list[float] = Field(..., min_length=1, max_length=4096)


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets 413, whether it declares its
    length or streams it in chunks. The body is read here first (at most ``limit`` bytes), so
    the app never sees part of one: a framework that reads a body catches errors raised while
    reading and would answer 422 instead. A plain ASGI class: no per-request task."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def _reject(self, send) -> None:
        await send_json(send, 413, f"request body over {self.limit:,} bytes")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        size = dict(scope["headers"]).get(b"content-length")
        if size is not None and (not size.isdigit() or int(size) > self.limit):
            return await self._reject(send)
        parts, seen = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                return await self._reject(send)
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        body, given = b"".join(parts), False

        async def replay():
            nonlocal given
            if not given:
                given = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        return await self.app(scope, replay, send)


def _finite(values) -> None:
    for row in values:
        for v in row if isinstance(row, list) else [row]:
            if not math.isfinite(v):
                raise HTTPException(422, "the latent holds NaN or infinite values")


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def create_app(explorer: Explorer, bind: str = "127.0.0.1",
               allow_hosts: tuple[str, ...] = ()) -> FastAPI:
    """The FastAPI app serving ``explorer``'s runs on address ``bind``: it answers requests that
    name ``bind`` (and the loopback names when ``bind`` is loopback) or one of ``allow_hosts``."""
    # strict_content_type (FastAPI >= 0.132): a body without a JSON content type is not parsed,
    # so a page elsewhere cannot post a "simple" text/plain request without a CORS preflight
    app = FastAPI(title="Latent Atlas explorer", docs_url=None, redoc_url=None,
                  strict_content_type=True)
    app.add_middleware(BodyLimit, limit=MAX_BODY)
    app.add_middleware(HostGuard, names=served_names(bind, allow_hosts))
    batchers = {rid: DecodeBatcher(view) for rid, view in explorer.runs.items()}
    app.state.batchers = batchers
    static = resources.files("latentatlas.explorer") / "static"

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        # the messages and where they point, never the (possibly huge) input echoed back
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")}
                  for e in exc.errors()[:5]]
        return JSONResponse({"detail": detail}, 422)

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError):
        return JSONResponse({"detail": str(exc)}, 422)

    @app.exception_handler(OSError)
    async def os_error(request: Request, exc: OSError):  # e.g. the disk filled up meanwhile
        return JSONResponse({"detail": f"the server could not write: {exc.strerror or exc}"},
                            507)

    def run(rid: str) -> RunView:
        try:
            return explorer.get(rid)
        except KeyError:
            raise HTTPException(404, f"no run {rid!r} is open here") from None

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return (static / "index.html").read_text(encoding="utf-8")

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/api/runs")
    def runs() -> list[dict]:
        return [r.describe() for r in explorer.runs.values()]

    @app.get("/api/runs/{rid}")
    def describe(rid: str) -> dict:
        return run(rid).describe()

    @app.post("/api/runs/{rid}/decode")
    async def decode(rid: str, req: DecodeRequest) -> dict:
        r = run(rid)
        _finite(req.z)
        z = r.check_z(req.z)
        out = await run_in_threadpool(r.decode, z)
        if r.kind == "text":
            return {"texts": out}
        return {"images": [_data_uri(p) for p in out]}

    @app.post("/api/runs/{rid}/decode.png")
    async def decode_png(rid: str, req: OneCode) -> Response:
        r = run(rid)
        if r.kind != "image":
            raise HTTPException(400, "decode.png is for image runs; use /decode")
        _finite([req.z])
        z = r.check_z([req.z])
        png = await batchers[rid].decode(z[0])
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    @app.get("/api/runs/{rid}/items/{index}")
    def item(rid: str, index: int) -> dict:
        r = run(rid)
        value = r.item(index)
        label = r.labels[index] if r.labels else None
        shown = {"text": value} if isinstance(value, str) else {"image": _data_uri(value)}
        return {"index": index, "z": r.codes[index].tolist(), "label": label, **shown}

    @app.post("/api/runs/{rid}/interpolate")
    async def interp(rid: str, req: InterpolateRequest) -> dict:
        r = run(rid)
        path = r.interpolate(req.a, req.b, req.steps, req.method)
        out = await run_in_threadpool(r.decode, path)
        shown = {"texts": out} if r.kind == "text" else {"images": [_data_uri(p) for p in out]}
        return {"method": req.method, "map_path": r.project(path), **shown}

    @app.get("/api/runs/{rid}/map")
    def map_points(rid: str) -> dict:
        return run(rid).map_points()

    @app.get("/api/runs/{rid}/knobs")
    def knobs(rid: str) -> dict:
        return run(rid).describe()["knobs"]

    @app.get("/api/runs/{rid}/concepts")
    def concepts(rid: str) -> list[dict]:
        return run(rid).concepts()

    @app.get("/api/runs/{rid}/concepts/{name}")
    def concept(rid: str, name: str) -> dict:
        for c in run(rid).concepts():
            if c["name"] == name:
                return c
        raise HTTPException(404, f"no concept {name!r} in run {rid!r}")

    @app.post("/api/runs/{rid}/concepts")
    def create_concept(rid: str, req: ConceptRequest) -> dict:
        return run(rid).create_concept(req.name, req.positive, req.negative, req.method)

    @app.post("/api/runs/{rid}/translate")
    async def translate(rid: str, req: TranslateRequest) -> dict:
        a, b = run(rid), run(req.to)
        if a.id == b.id:
            raise HTTPException(400, "translate needs two different runs")
        _finite([req.z])
        z = a.check_z([req.z])
        t_map = await run_in_threadpool(explorer.translation, a.id, b.id)
        zb = b.check_z(t_map.transform(z))  # the map may throw a code out of B's range
        out = await run_in_threadpool(b.decode, zb)
        shown = {"text": out[0]} if b.kind == "text" else {"image": _data_uri(out[0])}
        return {"z": zb[0].tolist(), **shown}

    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app
