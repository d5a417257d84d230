"""Issue 15 in the browser: what a teacher sees is what the run does (``pytest -m browser``).

The CSV target shown is the column predicted and never an input; every refused value says
why and puts its control back.
"""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from test_browser import FAST, STRATEGIC, click, epoch, shot, strip_text, toast, wait_epoch

pytestmark = pytest.mark.browser


#: JS: the tick labels of one of the diagram's axes ("inputs" or "outputs"), top to bottom.
NAMES_JS = """name => { const a = Bokeh.documents[0].get_model_by_name(name);
  const o = a.major_label_overrides; const m = o instanceof Map ? o : new Map(Object.entries(o));
  return Array.from(m.entries()).sort((x, y) => Number(y[0]) - Number(x[0])).map(e => e[1]); }"""


def axis_names(page, name: str) -> list[str]:
    return page.evaluate(NAMES_JS, name)


def upload(page, name: str, text: str) -> None:
    page.locator("input[type=file]").first.set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}])


def rows(fmt, n: int = 60) -> str:
    return "".join(fmt(i) + "\n" for i in range(n))


#: file name → (contents, the target the picker must show, the inputs the diagram must show, metric in the strip)
SHAPES = {
    "numeric-label.csv": ("height,weight,label\n" + rows(lambda i: f"{150 + i % 40},{50 + (i * 7) % 30},{i % 2}"),
                          "label", ["height", "weight"], "val acc"),
    "yes-no.csv": ("age,city,outcome\n" + rows(lambda i: f"{20 + i % 40},{'xyz'[i % 3]},{'yes' if i % 3 else 'no'}"),
                   "outcome", ["age", "city=x", "city=y", "city=z"], "val acc"),
    "text-label.csv": ("height,weight,label\n" + rows(lambda i: f"{150 + i % 40},{50 + (i * 7) % 30},{'ab'[i % 2]}"),
                       "label", ["height", "weight"], "val acc"),
    "regression.csv": ("p,q,r,s\n" + rows(lambda i: f"{i},{i * 0.5},{i % 7},{i * 1.3 + 2}"), "s", ["p", "q", "r"], "val MSE"),
}


def test_the_csv_target_shown_is_the_column_predicted_never_an_input(open_page):
    page = open_page(FAST)
    page.locator("select").first.select_option("csv")
    picker = page.locator("select").nth(1)
    for name, (text, target, inputs, metric) in SHAPES.items():
        upload(page, name, text)
        sizes = f"{len(inputs)}-6-4-1"  # FAST: arch 6-4
        page.locator(".gl-strip", has_text=f"csv · dense · {sizes}").wait_for()
        wanted = json.dumps(sorted(inputs), separators=(",", ":"))  # the strip can show csv before the axis is relabelled (xor has 2 inputs too)
        page.wait_for_function(f"() => JSON.stringify(({NAMES_JS})('inputs').slice().sort()) === {wanted!r}")
        assert picker.input_value() == target, name
        shown = axis_names(page, "inputs")
        assert sorted(shown) == sorted(inputs), name
        assert not any(s == target or s.startswith(target + "=") for s in shown), name
        assert metric in strip_text(page), name
    shot(page, "15-csv-shapes")
    picker.select_option("r")  # picking another target predicts it: r's 7 values are classes, s is an input
    page.locator(".gl-strip", has_text="csv · dense · 3-6-4-1").wait_for()
    page.wait_for_function(f"() => ({NAMES_JS})('inputs').includes('s')")
    assert sorted(axis_names(page, "inputs")) == ["p", "q", "s"]
    assert "val acc" in strip_text(page)


def slider_ends(page) -> list[float]:
    return page.evaluate("""() => Array.from(Bokeh.documents[0].all_models)
        .filter(m => m.constructor.name === 'Slider').map(m => m.end)""")


def test_a_refused_value_says_why_and_its_control_shows_the_value_in_use(open_page):
    page = open_page("dataset=xor&arch=6-4&method=strategic&epochs=3000")
    batch = page.locator(".gl-batch input").first
    batch.fill("-3")
    batch.press("Enter")
    toast(page, "Refused: batch_size must be None (the full batch, up to 1,024 rows) or a whole number in [1, ∞)")
    expect(batch).to_have_value("0")
    epochs = page.locator(".gl-epochs input").first
    epochs.fill("0")
    epochs.press("Enter")
    toast(page, "Refused: epochs must be in [1, 1,000,000], got 0")
    expect(epochs).to_have_value("3000")
    click(page, "Step")  # a trained run: σ goes to the run, which refuses what it cannot take
    page.locator(".gl-strip", has_text="epoch1").or_(page.locator(".gl-strip", has_text="epoch 1")).first.wait_for()
    ends = slider_ends(page)
    sigma = page.locator(".gl-param-sigma input").first
    sigma.fill("2000")
    sigma.press("Enter")
    toast(page, "Refused")
    expect(sigma).to_have_value("1")
    page.wait_for_function(f"() => JSON.stringify({ends}) === JSON.stringify(Array.from(Bokeh.documents[0].all_models)"
                           ".filter(m => m.constructor.name === 'Slider').map(m => m.end))")  # the knob's travel is back
    sigma.fill("")
    sigma.press("Enter")
    toast(page, "sigma needs a number")
    arch = page.locator(".gl-arch input").first
    arch.fill(" 5 , 3 ")
    arch.press("Enter")
    expect(arch).to_have_value("5-3")
    click(page, "Reset")  # the run had trained: a new setup waits for Reset
    page.locator(".gl-strip", has_text="2-5-3-1").wait_for()
    shot(page, "15-refused-values")


def test_one_projector_screen_space_plays_and_no_wheel_zoom(open_page):
    page = open_page("dataset=moons&arch=6-4&method=strategic&epochs=3000", width=1280, height=720)
    play = page.locator(".gl-play").first
    box = play.bounding_box()
    assert box and box["y"] + box["height"] <= 720  # Play/Pause in sight beside the strip
    page.locator(".gl-strip").first.click()  # focus on the page, not on a control
    page.keyboard.press("Space")
    page.locator(".gl-badge", has_text="Training").wait_for()
    page.keyboard.press("Space")
    page.locator(".gl-badge", has_text="Paused").wait_for()
    page.get_by_role("button", name="Toggle Sidebar").or_(page.locator("#sidebar-button")).first.click()
    page.wait_for_timeout(500)
    assert page.locator(".gl-play").first.is_visible()  # the sidebar collapsed: Play is still there
    x_range = ("() => { const plot = Array.from(Bokeh.documents[0].all_models).find(m => Array.isArray(m.renderers) && "
               "m.renderers.some(r => r.data_source && r.data_source.name === 'diagram-edges')); "
               "return plot ? [plot.x_range.start, plot.x_range.end, plot.y_range.start, plot.y_range.end] : null; }")
    before = page.evaluate(x_range)
    assert before is not None
    diagram = page.locator(".bk-Canvas").first.bounding_box() or {"x": 500, "y": 300, "width": 10, "height": 10}
    page.mouse.move(diagram["x"] + diagram["width"] / 2, diagram["y"] + diagram["height"] / 2)
    page.mouse.click(diagram["x"] + 5, diagram["y"] + diagram["height"] / 2)
    page.mouse.wheel(0, 400)
    page.wait_for_timeout(500)
    assert page.evaluate(x_range) == before  # the wheel scrolled the page, the diagram did not zoom
    shot(page, "15-projector-1280")


#: JS: what the diagram draws (its live edges' ends and weights), to compare before and after a reload.
DRAWN_JS = """() => { const d = Bokeh.documents[0].get_model_by_name('diagram-edges').data;
  return [Array.from(d.layer), Array.from(d.source), Array.from(d.target)].map(a => a.join(',')).join(';'); }"""


def test_a_reload_keeps_the_run_its_epoch_diagram_and_curves_and_asks_nothing(open_page, server):
    page = open_page(STRATEGIC + "&speed=fast", width=1440, height=900)
    click(page, "Play")
    wait_epoch(page, 26)
    click(page, "Pause")
    page.locator(".gl-badge", has_text="Paused").wait_for()
    page.wait_for_timeout(600)  # the last epoch drawn
    before, drawn = epoch(page), page.evaluate(DRAWN_JS)
    rows = page.evaluate("() => Bokeh.documents[0].get_model_by_name('growlab-curves').data.epoch.length")
    asked = []
    page.on("dialog", lambda d: (asked.append(d.type), d.accept()))
    page.reload()
    page.locator(".gl-strip.gl-live").wait_for()
    toast(page, f"Your run is back, at epoch {before}")
    page.wait_for_function(f"() => {{ const s = Bokeh.documents[0].get_model_by_name('growlab-curves'); "
                           f"return s && s.data.epoch.length >= {rows}; }}")  # fmt: skip
    assert asked == []  # nothing to ask: the run is kept
    assert epoch(page) == before and "Paused" in page.locator(".gl-badge").first.text_content()
    assert page.evaluate(DRAWN_JS) == drawn  # the same network, edge for edge
    assert page.evaluate("() => document.cookie").find("growlab_resume=") < 0  # taken: another tab gets a run of its own
    click(page, "Play")  # and it trains on from there
    wait_epoch(page, before + 3)
    shot(page, "15-reload-kept")
    other = open_page(FAST)  # a page opened afresh meanwhile is a new run
    assert epoch(other) == 0


def test_a_page_left_longer_than_the_grace_period_gets_a_new_run_and_a_notice(open_page, server):
    page = open_page(FAST + "&speed=fast")
    click(page, "Play")
    wait_epoch(page, 3)
    ctx = page.context
    cookies_at_close = []
    page.close(run_before_unload=True)  # the tab closed: its token waits in a cookie
    deadline = time.monotonic() + 10
    while not cookies_at_close and time.monotonic() < deadline:
        cookies_at_close = [c for c in ctx.cookies() if c["name"] == "growlab_resume"]
        time.sleep(0.1)
    assert cookies_at_close, "leaving the page wrote no resume cookie"
    server.wait_status(lambda s: s["runs"] == 0, timeout=30)  # the server's grace period (5 s here) is over: freed
    # the cookie lived as long (the browser dropped it); one that outlived it, or a forged one, names nothing
    for value in (cookies_at_close[0]["value"], "%3Cb%3Ex%3C%2Fb%3E", "A" * 3000):
        ctx.add_cookies([{"name": "growlab_resume", "value": value, "url": server.url}])
        page = ctx.new_page()
        page.goto(server.url + "?" + FAST)
        page.locator(".gl-strip.gl-live").wait_for()
        toast(page, "Your earlier run was not kept")
        assert epoch(page) == 0 and "Ready" in page.locator(".gl-badge").first.text_content()
        page.close()


def test_a_page_load_asks_no_server_but_growlabs(open_page):
    page = open_page(FAST)
    asked = []
    page.on("request", lambda r: asked.append(r.url))
    page.reload()
    page.locator(".gl-strip.gl-live").wait_for()
    page.wait_for_timeout(1000)
    outside = [u for u in asked if not u.startswith(("http://127.0.0.1", "data:", "blob:", "ws://127.0.0.1"))]
    assert asked and not outside  # no web font (nor anything else) from another server: works offline


#: JS: the diagram's input-name font (px) and the room between neighbouring input names (px).
INPUT_ROOM_JS = """() => { const axis = Bokeh.documents[0].get_model_by_name('inputs');
  const walk = (v) => { if (v.model && v.model.renderers && v.model.renderers.some(r => r.data_source && r.data_source.name === 'diagram-edges')) return v;
    for (const c of (v.child_views || [])) { const f = walk(c); if (f) return f; } return null; };
  const roots = Bokeh.index instanceof Map ? Array.from(Bokeh.index.values()) : Object.values(Bokeh.index);
  let view = null; for (const r of roots) { view = view || walk(r); }
  const ticks = axis.ticker.ticks.slice().sort((a, b) => a - b); const yr = view.model.y_range;
  const gap = Math.min(...ticks.slice(1).map((t, i) => t - ticks[i]));
  return [parseFloat(axis.major_label_text_font_size), view.frame.bbox.height * gap / (yr.end - yr.start), ticks.length]; }"""


def inside(page, selector: str, width: int, height: int) -> dict:
    """The first visible element matching ``selector``: its box, asserted to lie in the viewport."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width + 1 and box["y"] + box["height"] <= height + 1, (selector, box)
    return box


@pytest.mark.parametrize("query, toy", [("dataset=moons&arch=6-4&method=strategic%2Bprune", True), ("dataset=heart&method=prune", False)])
def test_the_projector_view_puts_the_lesson_on_one_1280x720_screen(open_page, query, toy):
    page = open_page(f"{query}&layout=projector", width=1280, height=720)
    page.evaluate("() => window.scrollTo(0, 0)")
    left, right = inside(page, ".gl-left", 1280, 720), inside(page, ".gl-right", 1280, 720)
    assert right["x"] >= left["x"] + left["width"] - 1 and abs(right["y"] - left["y"]) < 40  # curves beside the diagram
    inside(page, ".gl-legend", 1280, 720)
    for tab in ("Inspector", "Compare"):  # the tabs' row, first to last
        inside(page, f".bk-tab:has-text('{tab}')", 1280, 720)
    strip = inside(page, ".gl-strip", 1280, 720)
    value = page.locator(".gl-strip .gl-v").first.bounding_box()
    assert strip["height"] < 2 * value["height"] + 6, strip  # the status strip is one line
    if toy:
        boundary = inside(page, ".gl-side-boundary", 1280, 720)
        assert boundary["height"] > 150  # the decision boundary beside the diagram, not in a tab below
    else:
        font, room, n = page.evaluate(INPUT_ROOM_JS)
        assert n == 27 and 9 <= font <= room - 1, (font, room)  # every one of heart's 27 names fits its room
    page.get_by_role("button", name="Toggle Sidebar").or_(page.locator("#sidebar-button")).first.click()
    page.wait_for_timeout(500)
    inside(page, ".gl-play", 1280, 720)  # Play/Pause in reach with the sidebar collapsed
    shot(page, f"15-projector-view-{'toy' if toy else 'heart'}")


def test_the_standard_view_at_1440x900_has_the_curves_beside_the_diagram(open_page):
    page = open_page("dataset=heart&method=prune", width=1440, height=900)
    left, right = inside(page, ".gl-left", 1440, 900), page.locator(".gl-right").first.bounding_box()
    assert right["x"] >= left["x"] + left["width"] - 1 and abs(right["y"] - left["y"]) < 40
    assert page.locator(".gl-side-boundary").first.is_hidden()
    font, room, n = page.evaluate(INPUT_ROOM_JS)
    assert n == 27 and 11 <= font <= room - 1, (font, room)
    click(page, "Projector view")  # and back: the toggle writes the layout into the link
    page.wait_for_function("() => window.location.search.includes('layout=projector')")
    click(page, "Projector view")
    page.wait_for_function("() => !window.location.search.includes('layout=projector')")


#: JS: count the header spinner's turns from now on (``window.__spins``).
SPIN_JS = """() => { window.__spins = 0; let n = 0;
  const walk = (r) => { for (const el of r.querySelectorAll('*')) { if (el.shadowRoot) walk(el.shadowRoot);
    if ((el.className + '').includes('loader')) { n++; new MutationObserver(() => {
      if ((el.className + '').includes('spin')) window.__spins++; }).observe(el, {attributes: true, attributeFilter: ['class']}); } } };
  walk(document); return n; }"""


def test_a_link_keeps_speed_and_tab_the_spinner_rests_while_training_and_the_log_has_no_w1005(open_page, server):
    page = open_page("dataset=xor&arch=6-4&method=strategic%2Bprune&epochs=3000&speed=fast&tab=events")
    expect(page.locator(".bk-btn-group .bk-btn.bk-active", has_text="fast").first).to_be_visible()
    expect(page.locator(".bk-tab.bk-active", has_text="Events").first).to_be_visible()
    page.locator(".bk-tab", has_text="Export").first.click()
    page.wait_for_function("() => window.location.search.includes('tab=export')")
    assert "speed=fast" in page.evaluate("() => window.location.search")
    assert page.evaluate(SPIN_JS) == 1
    click(page, "▶ Play")
    page.locator(".gl-badge", has_text="Training").wait_for()
    page.wait_for_timeout(1500)  # the click's own answer is done
    page.evaluate("() => { window.__spins = 0; }")
    start = epoch(page)
    page.wait_for_timeout(4000)
    assert epoch(page) > start and page.evaluate("() => window.__spins") == 0  # refreshes are not "work in flight"
    url = page.url
    again = open_page(url.split("?", 1)[1])  # the shared link
    expect(again.locator(".bk-btn-group .bk-btn.bk-active", has_text="fast").first).to_be_visible()
    expect(again.locator(".bk-tab.bk-active", has_text="Export").first).to_be_visible()
    assert "W-1005" not in server.log.read_text(errors="replace")  # no sizing warnings while it ran


@pytest.mark.parametrize("query", ["dataset=mnist5k&arch=lenet-5&method=nest", "dataset=digits&arch=c6k3-c16k3-p2-32&method=nest"])
def test_a_conv_network_in_the_projector_view_fits_one_1280x720_screen(open_page, query):
    page = open_page(f"{query}&layout=projector", width=1280, height=720)
    page.evaluate("() => window.scrollTo(0, 0)")
    left, right = inside(page, ".gl-left", 1280, 720), inside(page, ".gl-right", 1280, 720)
    assert right["x"] >= left["x"] + left["width"] - 1 and abs(right["y"] - left["y"]) < 40  # curves beside the diagram
    maps = inside(page, ".gl-side-maps", 1280, 720)  # the feature maps beside the diagram, not under it
    assert maps["height"] > 80 and maps["x"] >= left["x"] + left["width"] - 1
    inside(page, ".gl-legend", 1280, 720)
    tab = inside(page, ".bk-tab:has-text('Inspector')", 1280, 720)
    assert max(left["y"] + left["height"], right["y"] + right["height"]) <= tab["y"] + 1  # nothing pushes the tabs down
    page.locator(".gl-side-maps .bk-btn", has_text="conv 2").first.click()  # 16 channels: still on the screen
    page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('side-conv-maps').data.channel.length === 16")
    page.wait_for_timeout(500)
    right = inside(page, ".gl-right", 1280, 720)
    assert right["y"] + right["height"] <= inside(page, ".bk-tab:has-text('Inspector')", 1280, 720)["y"] + 1
    shot(page, f"15-projector-conv-{query.split('&')[0].split('=')[1]}")
