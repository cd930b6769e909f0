"""The explorer: its JSON API (every 4xx case), the page in Debian's Chromium driven by
Playwright, and the static export opened from file://. Screenshots go to test-artifacts/."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from latentatlas.explorer import Explorer
from latentatlas.explorer.app import create_app

from .conftest import REPO, cli

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("explore")
    out = []
    for name, hidden in (("small", "64"), ("wide", "128")):
        p = cli("train", "--data", "shapes", "--n-train", "2000", "--n-test", "300",
                "--latent-dim", "6", "--hidden", hidden, "--epochs", "2", "--threads", "1",
                "--quiet", "--out", str(root / name))
        assert p.returncode == 0, p.stderr
        out.append(root / name)
    return out


@pytest.fixture(scope="module")
def client(runs):
    return TestClient(create_app(Explorer([str(r) for r in runs])),
                      base_url="http://127.0.0.1:8765")


def test_api_decodes_items_maps_and_interpolates(client):
    listed = client.get("/api/runs").json()
    assert [r["id"] for r in listed] == ["small", "wide"] and listed[0]["latent_dim"] == 6
    assert len(listed[0]["knobs"]["components"]) == 5
    png = client.post("/api/runs/small/decode.png", json={"z": [0.0] * 6})
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    batch = client.post("/api/runs/small/decode", json={"z": [[0.0] * 6, [1.0] * 6]}).json()
    assert len(batch["images"]) == 2 and batch["images"][0] != batch["images"][1]
    item = client.get("/api/runs/small/items/3").json()
    assert len(item["z"]) == 6 and item["image"].startswith("data:image/png;base64,")
    m = client.get("/api/runs/small/map").json()
    assert len(m["points"]) == 300 and m["method"] == "pca"
    strip = client.post("/api/runs/small/interpolate",
                        json={"a": 0, "b": 5, "steps": 8, "method": "lerp"}).json()
    assert len(strip["images"]) == 8
    t = client.post("/api/runs/small/translate", json={"to": "wide", "z": item["z"]}).json()
    assert len(t["z"]) == 6 and t["image"].startswith("data:image/png")


def test_api_creates_a_concept_from_selected_points_and_saves_it(client, runs):
    m = client.get("/api/runs/small/map").json()["points"]
    left = [p[3] for p in sorted(m, key=lambda p: p[0])[:30]]
    right = [p[3] for p in sorted(m, key=lambda p: p[0])[-30:]]
    c = client.post("/api/runs/small/concepts",
                    json={"name": "left-right", "positive": right, "negative": left}).json()
    assert c["name"] == "left-right" and len(c["vector"]) == 6
    saved = json.loads((runs[0] / "atlas" / "concepts.json").read_text())
    assert "left-right" in json.dumps(saved)
    assert client.get("/api/runs/small/concepts/left-right").status_code == 200


@pytest.mark.parametrize("method,path,body,code,message", [
    ("post", "/api/runs/small/decode", {"z": [[0.0] * 5]}, 422, "has 6 numbers"),
    ("post", "/api/runs/small/decode.png", {"z": [0.0] * 7}, 422, "has 6 numbers"),
    ("post", "/api/runs/small/decode", {"z": [[float("nan")] * 6]}, 422, "NaN or infinite"),
    ("post", "/api/runs/small/decode.png", {"z": [float("inf")] * 6}, 422, "NaN or infinite"),
    ("post", "/api/runs/small/decode", {"z": [[0.0] * 6] * 40000}, 413, "bytes"),
    ("post", "/api/runs/nope/decode", {"z": [[0.0] * 6]}, 404, "no run 'nope'"),
    ("get", "/api/runs/small/concepts/nope", None, 404, "no concept 'nope'"),
    ("get", "/api/runs/small/items/300", None, 422, "out of range"),
    ("post", "/api/runs/small/interpolate", {"a": 0, "b": 1, "steps": 500}, 422, "steps"),
    ("post", "/api/runs/small/concepts",
     {"name": "<script>", "positive": [1, 2], "negative": [3, 4]}, 422, "concept name"),
    ("post", "/api/runs/small/translate", {"to": "small", "z": [0.0] * 6}, 400, "two different"),
    ("post", "/api/runs/small/decode", {"zz": 1}, 422, "Field required"),
    ("post", "/api/runs/small/decode", {"z": [[0.0] * 6, [0.0] * 5]}, 422, "must have 6"),
    ("post", "/api/runs/small/decode", {"z": [[1e30] * 6]}, 422, "beyond"),
    ("post", "/api/runs/small/decode.png", {"z": [-1e30] * 6}, 422, "beyond"),
    ("post", "/api/runs/small/translate", {"to": "w" * 5000, "z": [0.0] * 6}, 422,
     "at most 64"),
])
def test_api_answers_bad_requests_with_4xx_and_a_message(client, method, path, body, code,
                                                         message):
    if method == "get":
        r = client.get(path)
    else:  # send the body as written (NaN and Infinity tokens included)
        r = client.post(path, content=json.dumps(body),
                        headers={"content-type": "application/json"})
    assert r.status_code == code, r.text[:300]
    assert message in json.dumps(r.json()["detail"])
    assert len(r.content) < 2000  # the answer never echoes the request back


def test_a_batch_of_4097_codes_under_the_size_limit_is_refused(client):
    body = json.dumps({"z": [[0] * 6] * 4097}).replace(" ", "")
    assert len(body) < 1_000_000
    r = client.post("/api/runs/small/decode", content=body,
                    headers={"content-type": "application/json"})
    assert r.status_code == 422


@pytest.mark.parametrize("headers,code", [
    ({"host": "evil.example:8765"}, 403),  # a rebound DNS name: refused even for a read
    ({"host": "localhost:8765"}, 200),
    ({"host": "[::1]:8765"}, 200),
    ({"origin": "http://evil.example"}, 403),  # a cross-site write
    ({"origin": "null"}, 403),
    ({"sec-fetch-site": "cross-site"}, 403),
    ({"origin": "http://127.0.0.1:8765"}, 200),  # the page itself
    ({"content-type": "text/plain"}, 422),  # a "simple" request needs no CORS preflight
])
def test_other_hosts_cross_site_writes_and_untyped_bodies_are_refused(client, headers, code):
    body = json.dumps({"z": [[0.0] * 6]})
    r = client.post("/api/runs/small/decode", content=body,
                    headers={"content-type": "application/json", **headers})
    assert r.status_code == code, r.text[:300]
    assert "access-control-allow-origin" not in r.headers
    if headers.get("host", "").startswith("evil"):
        assert client.get("/api/runs", headers=headers).status_code == 403


def test_served_names_follow_the_bound_address():
    from latentatlas.explorer.guard import host_name, served_names

    assert {"127.0.0.1", "localhost", "::1"} <= served_names("127.0.0.1")
    assert served_names("192.168.1.5") == {"192.168.1.5"}
    assert served_names("0.0.0.0") is None  # every interface: any name (the CLI warns)
    assert served_names("0.0.0.0", ("atlas.lan",)) == {"atlas.lan"}
    assert host_name("[::1]:80") == "::1" and host_name("LocalHost:1") == "localhost"


def test_a_chunked_body_over_the_limit_gets_413(client):
    def chunks():
        yield b'{"z": ['
        for _ in range(80_000):  # 1.1 MB
            yield b"[0,0,0,0,0,0],"
        yield b"[0,0,0,0,0,0]]}"

    r = client.post("/api/runs/small/decode", content=chunks(),
                    headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers  # really streamed
    assert r.status_code == 413 and "bytes" in r.json()["detail"]


def test_a_failing_decode_fails_every_waiting_request_and_the_batcher_recovers(runs):
    import asyncio

    import torch

    from latentatlas.explorer.batching import DecodeBatcher

    view = Explorer([str(runs[0])]).runs["small"]
    decode, failures = view.decode, []

    def flaky(z):  # the first model call breaks, as a real out-of-memory would
        if not failures:
            failures.append(len(z))
            raise RuntimeError("out of memory")
        return decode(z)

    view.decode = flaky
    batcher = DecodeBatcher(view)
    z = torch.randn(8, 6, generator=torch.Generator().manual_seed(1))

    async def all_at_once():
        return await asyncio.gather(*(batcher.decode(row) for row in z),
                                    return_exceptions=True)

    first = asyncio.run(all_at_once())
    broken = [r for r in first if isinstance(r, RuntimeError)]
    assert len(broken) == failures[0] >= 1  # every request of the failed batch got the error
    assert all(isinstance(r, bytes) for r in first if r not in broken)
    second = asyncio.run(all_at_once())
    assert second == decode(z) and not batcher.busy and not batcher.pending


def test_concurrent_decodes_are_batched_and_equal_single_decodes(runs):
    import asyncio

    import torch

    from latentatlas.explorer.batching import DecodeBatcher

    view = Explorer([str(runs[0])]).runs["small"]
    batcher = DecodeBatcher(view)
    z = torch.randn(40, 6, generator=torch.Generator().manual_seed(0))

    async def all_at_once():
        return await asyncio.gather(*(batcher.decode(row) for row in z))

    pngs = asyncio.run(all_at_once())
    assert batcher.calls < 10  # 40 requests, a few model calls
    assert pngs == view.decode(z)  # the same bytes as one batch decoded directly
    again = asyncio.run(all_at_once())
    assert again == pngs and batcher.calls < 10  # repeated codes come from the cache


def test_explore_and_export_bad_input(runs, tmp_path):
    for args, message in [
        (("explore", str(runs[0]), str(runs[1]), str(runs[0])), "one or two runs"),
        (("explore", str(tmp_path / "none")), "error:"),
        (("export", str(runs[0]), "--steps", "1", "--out", str(tmp_path / "x.html")),
         "--steps"),
        (("export", str(runs[0]), "--knobs", "9", "--out", str(tmp_path / "x.html")),
         "latent dimensions"),
    ]:
        p = cli(*args)
        assert p.returncode == 2 and message in p.stderr, (args, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()


def test_binding_all_interfaces_warns(runs):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "latentatlas", "explore", str(runs[0]),
                             "--host", "0.0.0.0", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        line = proc.stderr.readline()
        assert line.startswith("warning:") and "anyone" in line
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(runs):
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "latentatlas", "explore", str(runs[0]),
                             str(runs[1]), "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read()) from None
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def _pixels(page, selector):
    """The decoded image's pixels, read back through a canvas."""
    return page.evaluate("""(sel) => {
        const img = document.querySelector(sel), c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        return Array.from(g.getImageData(0, 0, c.width, c.height).data);
    }""", selector)


def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_the_page_in_a_real_browser(server, browser, runs):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server)
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    _shot(page, "explorer-loaded")
    assert page.text_content("#status").startswith("item 0")
    before = _pixels(page, "#decoded")
    n = page.evaluate("window.__decodes")
    slider = page.locator("#knobs input[type=range]").first
    slider.fill("2.5")  # moves the slider and fires input
    page.wait_for_function(f"window.__decodes > {n} && !document.querySelector('#decoded')"
                           ".src.startsWith('data')")
    page.wait_for_timeout(300)
    after = _pixels(page, "#decoded")
    assert before != after  # the decoded image changed
    _shot(page, "explorer-slider-moved")

    # a click on a map point loads that item
    x, y = page.evaluate("""() => { const p = state.points[7]; const [x, y] = mapXY(p);
        const r = document.getElementById('map').getBoundingClientRect();
        return [r.left + x, r.top + y]; }""")
    page.mouse.click(x, y)
    page.wait_for_function("state.current !== 0")
    loaded = page.evaluate("""() => { const p = state.points.find((q) => q[3] === state.current);
        const [x, y] = mapXY(p); const r = document.getElementById('map').getBoundingClientRect();
        return [r.left + x, r.top + y]; }""")
    assert abs(loaded[0] - x) < 0.5 and abs(loaded[1] - y) < 0.5  # the clicked point's item
    assert page.text_content("#status").startswith(f"item {page.evaluate('state.current')}")
    _shot(page, "explorer-map-click")
    # shift-click a second point: the interpolation strip appears
    x2, y2 = page.evaluate("""() => { const p = state.points[40]; const [x, y] = mapXY(p);
        const r = document.getElementById('map').getBoundingClientRect();
        return [r.left + x, r.top + y]; }""")
    page.keyboard.down("Shift")
    page.mouse.click(x2, y2)
    page.keyboard.up("Shift")
    page.wait_for_selector("#strip img", timeout=10_000)
    assert page.locator("#strip img").count() == 8
    _shot(page, "explorer-interpolation")

    # a concept from two box selections is saved to the run
    box = page.locator("#map").bounding_box()
    page.check("input[name=mode][value=pos]")
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] - 2)
    page.mouse.up()
    page.check("input[name=mode][value=neg]")
    page.mouse.move(box["x"] + box["width"] / 2 + 1, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2)
    page.mouse.up()
    assert "positive 0" not in page.text_content("#groups")
    page.fill("#concept-name", "left-half")
    page.click("#create-concept")
    page.wait_for_function("document.getElementById('status').textContent.includes('left-half')")
    assert "left-half" in (runs[0] / "atlas" / "concepts.json").read_text()
    assert page.locator("#concepts input[type=range]").count() >= 1
    _shot(page, "explorer-concept")

    # compare: model B's decode of T(z) next to A's
    page.select_option("#compare", "wide")
    page.wait_for_function("document.getElementById('compared').src.startsWith('data:image')")
    _shot(page, "explorer-compare")
    assert not errors
    page.close()


def test_concepts_named_like_object_internals_work_as_sliders(server, browser):
    import urllib.request

    for name in ("__proto__", "constructor"):
        body = json.dumps({"name": name, "positive": [0, 1, 2], "negative": [3, 4, 5]})
        req = urllib.request.Request(server + "api/runs/small/concepts", data=body.encode(),
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert json.loads(r.read())["name"] == name
    page, errors = _ready_page(browser, server)
    labels = page.locator("#concepts > span").all_text_contents()
    assert "__proto__" in labels and "constructor" in labels, labels
    sliders = page.locator("#concepts input[type=range]")
    before = page.evaluate("window.__decodes")
    for i in range(sliders.count()):
        sliders.nth(i).fill("2")
    page.wait_for_function(f"window.__decodes > {before}")
    assert not errors, errors
    page.close()


def test_the_map_shows_where_the_current_code_is(server, browser):
    page, errors = _ready_page(browser, server)
    start = page.evaluate("window.__marker")
    page.locator("#knobs input[type=range]").first.fill("3")
    page.wait_for_function("window.__decodes >= 2")
    assert page.evaluate("window.__marker") != start  # the marker follows the slider
    n = page.evaluate("window.__decodes")
    page.evaluate("loadItem(7)")  # an item's code sits exactly on its own map point
    page.wait_for_function(f"window.__decodes > {n}")
    marker = page.evaluate("window.__marker")
    point = page.evaluate("mapXY(state.points.find((p) => p[3] === 7))")
    assert abs(marker[0] - point[0]) < 0.5 and abs(marker[1] - point[1]) < 0.5, (marker, point)
    page.evaluate("interpolateTo(12)")
    page.wait_for_function("state.path.length === 8")
    end = page.evaluate("mapXY(state.path[7])")
    twelve = page.evaluate("mapXY(state.points.find((p) => p[3] === 12))")
    assert abs(end[0] - twelve[0]) < 0.5 and abs(end[1] - twelve[1]) < 0.5  # path ends at 12
    _shot(page, "explorer-map-marker")
    assert not errors, errors
    page.close()


def test_slider_latency_in_the_browser_is_recorded(server, browser):
    page = browser.new_page()
    page.goto(server)
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.evaluate("window.__latencies = []")
    slider = page.locator("#knobs input[type=range]").nth(1)
    for v in ("-2", "-1", "0", "1", "2"):
        slider.fill(v)
        page.wait_for_timeout(100)
    page.wait_for_function("window.__latencies.length >= 3")
    lat = page.evaluate("window.__latencies")
    assert all(0 < t < 10_000 for t in lat)
    page.close()


def test_export_opens_from_file_and_a_slider_changes_the_image(runs, browser, tmp_path):
    out = tmp_path / "demo.html"
    p = cli("export", str(runs[0]), "--knobs", "3", "--steps", "3", "--items", "2", "--out",
            str(out))
    assert p.returncode == 0, p.stderr
    html = out.read_text()
    assert "http://" not in html and "https://" not in html  # nothing to fetch
    page = browser.new_page()
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    canvas = """() => { const c = document.getElementById('view');
        return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }"""
    before = page.evaluate(canvas)
    assert page.get_attribute("body", "data-index") == "13"  # the centre: 1*9 + 1*3 + 1
    page.locator("#sliders input").first.fill("2")
    assert page.get_attribute("body", "data-index") == "22"
    after = page.evaluate(canvas)
    assert before != after
    _shot(page, "export-slider-moved")
    assert all(u.startswith(("file:", "data:")) for u in requests)
    page.close()


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("explore-text") / "vae"
    p = cli("train", "--model", "text-vae", "--data", "grammar", "--latent-dim", "6",
            "--hidden", "64", "--embed-dim", "32", "--batch-size", "64", "--epochs", "5",
            "--anneal-steps", "600", "--threads", "1", "--quiet", "--out", str(run))
    assert p.returncode == 0, p.stderr
    return run


def _serve(*runs):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "latentatlas", "explore", *map(str, runs),
                             "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("the explorer did not start")


def test_a_text_run_in_the_browser_and_its_export(text_run, browser, tmp_path):
    proc, url = _serve(text_run)
    try:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        first = page.text_content("#sentence")
        assert first and first.endswith(".")
        # the page opens on the sentence the model reconstructs best, and offers the others
        best = page.eval_on_selector_all("#best option", "os => os.map(o => o.value)")
        assert len(best) > 1 and page.is_visible("#best")
        assert page.text_content("#status").startswith(f"item {best[0]}")
        page.select_option("#best", best[1])
        page.wait_for_function(f"document.getElementById('status').textContent"
                               f".startsWith('item {best[1]}')")
        seen = {first}
        slider = page.locator("#knobs input[type=range]").first
        for i, v in enumerate(("-3", "3", "-1.5", "1.5")):
            slider.fill(v)
            page.wait_for_function(f"window.__decodes >= {i + 2}")
            page.wait_for_timeout(100)
            seen.add(page.text_content("#sentence"))
        assert len(seen) > 1  # moving a knob changes the sentence
        _shot(page, "explorer-text")
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    out = tmp_path / "text.html"
    p = cli("export", str(text_run), "--out", str(out))
    assert p.returncode == 0, p.stderr
    page = browser.new_page()
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    shown = {page.text_content("#sentence")}
    for i in range(5):
        page.locator("#sliders input").nth(i).fill("0")
        shown.add(page.text_content("#sentence"))
    assert len(shown) > 1 and all(s.endswith(".") for s in shown)
    _shot(page, "export-text")
    page.close()


def test_export_json_cannot_close_its_script_element():
    from latentatlas.fileio import json_for_script

    text = json_for_script({"items": ["</script><script>alert(1)</script>", "a & b <!--"]})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["items"][0] == "</script><script>alert(1)</script>"


def test_export_is_capped_by_pixels_and_checks_its_span(tmp_path):
    """A page holds every decode: 3^9 x 5 = 98,415 decodes are under the decode cap, but of
    64 x 64 images they are over the cap on pixel values; a span must be a positive number."""
    from latentatlas import fit
    from latentatlas.errors import OptionError, UserError
    from latentatlas.explorer.export import export_html

    run = fit("vae", "shapes", tmp_path / "big", image_size=64, n_train=256, n_test=16,
              hidden=(8,), latent_dim=10, epochs=1).path
    with pytest.raises(UserError, match="values each, over the 156,800,000 values allowed"):
        export_html(run, tmp_path / "x.html", knobs=9, steps=3, items=5)
    p = cli("export", str(run), "--knobs", "9", "--steps", "5", "--out",
            str(tmp_path / "x.html"))
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert "make 9,765,625 decodes, over the 200,000 allowed" in p.stderr
    for span in (0.0, float("nan"), -1.0):
        with pytest.raises(OptionError, match="^span must be a positive number"):
            export_html(run, tmp_path / "x.html", span=span)
    p = cli("export", str(run), "--span", "0", "--out", str(tmp_path / "x.html"))
    assert p.returncode == 2 and "error: --span must be a positive number" in p.stderr
    assert not (tmp_path / "x.html").exists()
    info = export_html(run, tmp_path / "ok.html", knobs=2, steps=3, items=2)
    assert info["decodes"] == 18 and (tmp_path / "ok.html").is_file()


def _ready_page(browser, url):
    """A page of the explorer at ``url``, loaded, and the list its script errors go to."""
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    return page, errors


def test_two_text_runs_compare_in_the_browser(text_run, browser, tmp_path):
    other = tmp_path / "ae"  # a second model of the same corpus: an autoencoder
    p = cli("train", "--model", "text-ae", "--data", "grammar", "--latent-dim", "4",
            "--hidden", "64", "--embed-dim", "32", "--batch-size", "64", "--epochs", "3",
            "--threads", "1", "--quiet", "--out", str(other))
    assert p.returncode == 0, p.stderr
    proc, url = _serve(text_run, other)
    try:
        page, errors = _ready_page(browser, url)
        page.select_option("#compare", "ae")
        seen = set()
        slider = page.locator("#knobs input[type=range]").first
        for i, v in enumerate(("-3", "3")):
            slider.fill(v)
            page.wait_for_function(f"window.__decodes >= {i + 2}")
            page.wait_for_function("document.querySelector('#compared-sentence').textContent")
            seen.add(page.text_content("#compared-sentence"))
        assert all(s.strip() for s in seen) and not errors, (seen, errors)
        _shot(page, "explorer-text-compare")
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_tiny_run_serves_a_working_page(browser, tmp_path):
    """A 1-D latent, 3 training items and 1 test item: the page works (knob, map, decode)."""
    run = tmp_path / "tiny"
    p = cli("train", "--data", "shapes", "--n-train", "3", "--n-test", "1", "--latent-dim", "1",
            "--hidden", "16", "--batch-size", "2", "--epochs", "1", "--threads", "1",
            "--quiet", "--out", str(run))
    assert p.returncode == 0, p.stderr
    proc, url = _serve(run)
    try:
        page, errors = _ready_page(browser, url)
        page.locator("#knobs input[type=range]").first.fill("2")
        page.wait_for_function("window.__decodes >= 2")
        assert not errors, errors
        assert page.get_attribute("#decoded", "src")
        # a map of one point draws it large (a 10-pixel square), not as a 4-pixel dot
        alpha = page.evaluate("""() => {
            const [x, y] = mapXY(state.points[0]);
            return $("map").getContext("2d").getImageData(x + 4, y + 4, 1, 1).data[3];
        }""")
        assert alpha > 0
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    one = tmp_path / "one"
    p = cli("train", "--data", "shapes", "--n-train", "1", "--n-test", "1", "--latent-dim", "2",
            "--hidden", "16", "--epochs", "1", "--threads", "1", "--quiet", "--out", str(one))
    assert p.returncode == 0, p.stderr
    p = cli("explore", str(one))
    assert p.returncode == 2 and "at least 2 training items" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1
