"""Hostile names and the page probes that catch them running or turning into elements.

Every payload either calls ``window.__xss(n)`` when its markup is interpreted (an ``onerror``,
an ``onload``, a ``<script>``) or becomes an element the probe finds (``<xss-probe>``). Shown
safely, each is just its own characters on screen.
"""

from __future__ import annotations

import io

#: Hostile column names, class labels, file names and URL values.
IMG = "<img src=x onerror=__xss(1)>"
SVG = "<svg onload=__xss(2)>"
SCRIPT = "<script>__xss(3)</script>"
PROBE = "<xss-probe>p</xss-probe>"
CLASS_A = "<img src=x onerror=__xss(4)>"
CLASS_B = "<xss-probe>b</xss-probe>"
TARGET = "<b>label</b>"
FILENAME = "<img src=x onerror=__xss(5)>.csv"
URL_VALUE = "<img src=x onerror=__xss(6)>"
ARCH = "<img src=x onerror=__xss(7)>"
FEATURES = (IMG, SVG, SCRIPT, PROBE, "**bold**")

#: Installed before any page script: collects calls of ``__xss`` and any alert/confirm/prompt.
INIT_JS = """
window.__hits = [];
window.__xss = (n) => { window.__hits.push(n); };
for (const f of ['alert', 'confirm', 'prompt']) window[f] = (m) => { window.__hits.push(f + ':' + m); };
"""

#: Elements injected from hostile text, searched through every shadow root of the page.
INJECTED_JS = """() => {
  const found = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      const tag = el.tagName.toLowerCase();
      const bad = tag === 'xss-probe' || (tag === 'img' && el.getAttribute('src') === 'x')
        || (el.hasAttribute('onerror') || el.hasAttribute('onload'))
        || (tag === 'script' && (el.textContent || '').includes('__xss'))
        || (tag === 'b' && el.textContent === 'label');
      if (bad) found.push(el.outerHTML.slice(0, 120));
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return found;
}"""

#: All visible text of the page, through shadow roots (Panel renders into them).
TEXT_JS = """() => {
  const parts = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot) walk(el.shadowRoot);
      for (const n of el.childNodes) if (n.nodeType === 3 && n.textContent.trim()) parts.push(n.textContent);
    }
  };
  walk(document);
  return parts.join('\\n');
}"""


def hostile_csv(rows: int = 40, rare_class: bool = False) -> bytes:
    """A CSV whose feature names and class labels are markup; ``rare_class`` gives one label a single row."""
    out = io.StringIO()
    out.write(",".join([*FEATURES, TARGET]) + "\n")
    for r in range(rows):
        label = CLASS_A if r % 2 else CLASS_B
        if rare_class and r == 0:
            label = "<img src=x onerror=__xss(8)>rare"
        out.write(",".join(str((r * (k + 3)) % 7) for k in range(len(FEATURES))) + f",{label}\n")
    return out.getvalue().encode()


def check_clean(page) -> None:
    """Fail if any payload ran or any hostile element is in the page."""
    hits = page.evaluate("() => window.__hits")
    assert hits == [], f"hostile text ran as script: {hits}"
    injected = page.evaluate(INJECTED_JS)
    assert injected == [], f"hostile text became elements: {injected}"


def page_text(page) -> str:
    return page.evaluate(TEXT_JS)


#: Screen position ``[x, y]`` of a row of a named source in the page's Bokeh plots: the
#: neuron ``(layer, unit)`` of ``diagram-neurons``.
NEURON_XY_JS = """([name, layer, unit]) => {
  const seen = new Set();
  const find = (v) => {
    if (!v || seen.has(v)) return null;
    seen.add(v);
    if (v.renderer_views) for (const rv of v.renderer_views.values()) if (rv.model.data_source?.name === name) return [v, rv];
    for (const c of (v.child_views ?? [])) { const r = find(c); if (r) return r; }
    return null;
  };
  for (const root of Bokeh.index.roots) {
    const f = find(root);
    if (!f) continue;
    const [pv, rv] = f, d = rv.model.data_source.data;
    const i = d.layer.findIndex((l, j) => l == layer && d.unit[j] == unit);
    const box = pv.canvas_view.el.getBoundingClientRect();
    return [box.left + pv.frame.x_scale.compute(d.x[i]), box.top + pv.frame.y_scale.compute(d.y[i])];
  }
  return null;
}"""

#: Select a row of a named data source as a click would (the server hears it).
SELECT_JS = """([name, layer, unit]) => {
  const s = Bokeh.documents[0].get_model_by_name(name);
  const i = s.data.layer.findIndex((l, j) => l == layer && (s.data.unit ?? s.data.source)[j] == unit);
  s.selected.indices = [i];
  return i;
}"""
