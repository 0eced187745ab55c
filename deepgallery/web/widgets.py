"""Gradio components that fit each declared `Param` and `Output`, and each app's built-in examples.

Inputs: image -> image upload / webcam / clipboard, video -> upload / webcam, text -> textbox,
int / float with both bounds -> slider (else a number box), choice -> radio (a few) or dropdown,
bool -> checkbox, file -> file upload. Outputs follow `jobs.widget_kind`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from ..core.app import Output, Param
from .jobs import widget_kind


def checked_upload(component: gr.components.Component) -> gr.components.Component:
    """The widget, with its own reading of an upload never failing the job: a file Gradio cannot take (a text
    file renamed .png) passes on as its path, and the gallery's checks (`jobs.prepare_inputs`) then give the
    same one-line message as the command line, instead of Gradio's bare red "Error". (An instance attribute,
    not a subclass: Gradio writes a stub file beside every module that subclasses a component.)"""
    original = component.preprocess

    def preprocess(payload):
        try:
            return original(payload)
        except Exception:  # noqa: BLE001 - any failure to read it: our check says what is wrong
            path = getattr(payload, "path", None) or getattr(getattr(payload, "video", None), "path", None)
            if path is None:
                raise
            return path

    component.preprocess = preprocess
    return component


def input_component(p: Param, elem_id: str | None = None) -> gr.components.Component:
    info = p.help or None  # shown under the label; media widgets have no such line, so it joins their label
    kw = {"label": p.name.replace("_", " "), "elem_id": elem_id}
    media_kw = {**kw, "label": kw["label"] + (f" — {p.help}" if p.help else "")}
    if p.kind == "image":
        value = str(p.default) if p.default and Path(p.default).is_file() else None
        return checked_upload(gr.Image(value=value, type="filepath", **media_kw, height=320,
                                       sources=["upload", "webcam", "clipboard"], image_mode=None, format="png"))
    if p.kind == "video":
        value = str(p.default) if p.default and Path(p.default).is_file() else None
        return checked_upload(gr.Video(value=value, **media_kw, sources=["upload", "webcam"], height=320))
    if p.kind == "file":
        return gr.File(**media_kw, type="filepath")
    if p.kind == "sketch":
        return sketch_pad(p, media_kw)
    if p.kind == "text":
        return gr.Textbox(value=p.default or "", **kw, info=info, lines=2)
    if p.kind in ("int", "float"):
        step = p.step if p.step is not None else (1 if p.kind == "int" else None)
        if _slider_range(p):
            return gr.Slider(p.minimum, p.maximum, value=p.default, step=step, **kw, info=info)
        if p.kind == "float" and _needs_exponent(p):  # 1e19 reads better than 10000000000000000000
            return gr.Textbox(value=None if p.default is None else f"{p.default:g}", **kw, info=info)
        return gr.Number(value=p.default, **kw, info=info, minimum=p.minimum, maximum=p.maximum,
                         precision=0 if p.kind == "int" else None, step=step or 1)
    if p.kind == "bool":
        return gr.Checkbox(value=bool(p.default), **kw, info=info)
    if p.kind == "choice":
        choices = list(p.choices)
        default = p.default if p.default in choices else (choices[0] if choices else None)
        if len(choices) <= 4:
            return gr.Radio(choices=choices, value=default, **kw, info=info)
        return gr.Dropdown(choices=choices, value=default, **kw, info=info)
    if p.kind == "strokes":
        return strokes_pad(p, kw)
    if p.kind == "points":
        return points_box(p, kw, info)
    return gr.Textbox(value=None if p.default is None else str(p.default), **kw, info=info)


def sketch_pad(p: Param, kw: dict[str, Any]) -> gr.components.Component:
    """A drawing pad (black pen on a white 256 x 256 canvas; an example or an upload becomes the background to
    draw on) that hands `predict` one PNG path: the drawing flattened on white, as `deepgallery run` takes it."""
    value = str(p.default) if p.default and Path(p.default).is_file() else None
    pad = gr.Sketchpad(value=value, type="filepath", image_mode="RGB", format="png", canvas_size=(256, 256),
                       brush=gr.Brush(default_size=3, colors=["#000000"], color_mode="fixed"),
                       sources=["upload", "clipboard"], height=360, **kw)
    original = pad.preprocess

    def preprocess(payload):
        edited = original(payload)
        if isinstance(edited, dict):  # {"background", "layers", "composite"}: the composite is what was drawn
            return edited.get("composite") or edited.get("background")
        return edited

    pad.preprocess = preprocess
    return pad


def points_box(p: Param, kw: dict[str, Any], info: str | None) -> gr.components.Component:
    """Points on the image input above it, as "x,y,#RRGGBB" lines in a text box (what `deepgallery run` takes):
    a click on that image appends the clicked pixel with the colour of the picker beside the box."""
    from gradio.context import Context

    siblings = getattr(Context.block, "children", []) if Context.block is not None else []
    image = next((c for c in siblings if isinstance(c, gr.Image)), None)  # the first image input of this column
    colour = gr.ColorPicker(value="#d03020", label="colour for the next click on the image",
                            elem_id=f"{kw['elem_id']}-colour" if kw.get("elem_id") else None)
    box = gr.Textbox(value=p.default or "", **kw, info=info, lines=2, placeholder="x,y,#RRGGBB (one per line)")
    if image is not None:
        def add_point(text: str | None, picked: str | None, evt: gr.SelectData) -> str:
            x, y = (int(round(v)) for v in evt.index[:2])
            lines = [line for line in (text or "").splitlines() if line.strip()]
            return "\n".join([*lines, f"{x},{y},{_hex_colour(picked)}"])

        image.select(add_point, [box, colour], box, queue=False, show_progress="hidden")
    return box


def _hex_colour(value: str | None) -> str:
    """#rrggbb from what a colour picker sends: "#rrggbb", "#rgb" or "rgb(a)(r, g, b[, a])"."""
    import re

    text = (value or "#000000").strip()
    if text.startswith("#") and len(text) == 4:
        return "#" + "".join(c * 2 for c in text[1:]).lower()
    if text.startswith("#"):
        return text[:7].lower()
    numbers = [float(n) for n in re.findall(r"[\d.]+", text)[:3]] or [0.0, 0.0, 0.0]
    return "#" + "".join(f"{max(0, min(255, round(n))):02x}" for n in numbers)


def _slider_range(p: Param) -> bool:
    """A slider needs both bounds and a linear range; 1e16..1e24 (a viscosity) gets a number box."""
    if p.minimum is None or p.maximum is None:
        return False
    return p.maximum - p.minimum <= 1e6 and not (p.minimum > 0 and p.maximum / p.minimum >= 1e6)


def _needs_exponent(p: Param) -> bool:
    values = [abs(v) for v in (p.default, p.minimum, p.maximum) if v]
    return any(v >= 1e6 or v < 1e-3 for v in values)


def output_component(out: Output, elem_id: str | None = None) -> gr.components.Component:
    kw = {"label": out.name.replace("_", " ") + (f" — {out.help}" if out.help else ""), "elem_id": elem_id}
    kind = widget_kind(out)
    if kind == "image":
        return gr.Image(**kw, type="filepath", format="png", interactive=False)
    if kind == "video":
        return gr.Video(**kw, interactive=False, autoplay=True, loop=True)
    if kind == "gallery":
        return gr.Gallery(**kw, columns=4, interactive=False)
    if kind == "table":
        return gr.Dataframe(**kw, interactive=False, wrap=True)
    if kind == "text":
        return gr.Textbox(**kw, lines=3, interactive=False, buttons=["copy"])
    if kind == "number":
        return gr.Number(**kw, interactive=False)
    if kind == "file":
        return gr.File(**kw, interactive=False)
    return gr.JSON(**kw, open=True)


MAX_FOLDER_EXAMPLES = 6


def example_rows(params: tuple[Param, ...], hooks: Any) -> list[list[Any]]:
    """Built-in examples, one row of input values each, from the first of:

    1. the entry module's ``WEB_EXAMPLES`` (a list of ``{input name: value}``; missing names take the
       declared default) or ``web_examples()`` returning such a list;
    2. the files in an ``examples/`` folder beside the entry module, when exactly one image or video
       input has no default (counting only required ones if any): one row per file of that kind;
    3. one row of the declared defaults.
    A row is kept when every input has a value (media: an existing file) or may be left empty
    (``predict`` has a default for it).
    """
    from .jobs import MEDIA_KINDS, optional_inputs

    optional = optional_inputs(getattr(hooks, "predict", None))
    source = getattr(hooks, "WEB_EXAMPLES", None)
    if source is None and callable(getattr(hooks, "web_examples", None)):
        source = hooks.web_examples()
    if source is None:
        source = _folder_examples(params, hooks, optional) or [{}]
    rows = []
    for example in source:
        if not isinstance(example, dict):
            continue
        row = [example.get(p.name, p.default) for p in params]
        if all(_usable(p, v, p.name in optional and p.kind in MEDIA_KINDS) for p, v in zip(params, row, strict=True)):
            rows.append([str(v) if isinstance(v, Path) else v for v in row])
    return rows


def _folder_examples(params: tuple[Param, ...], hooks: Any, optional: frozenset[str]) -> list[dict[str, str]]:
    from ..core.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

    folder = Path(getattr(hooks, "__file__", "") or ".").parent / "examples"
    empty = [p for p in params if p.kind in ("image", "video") and not _usable(p, p.default, False)]
    required = [p for p in empty if p.name not in optional]
    empty = required or empty  # an optional starting image is left empty when a required one takes the files
    if not folder.is_dir() or len(empty) != 1:
        return []
    suffixes = IMAGE_SUFFIXES if empty[0].kind == "image" else VIDEO_SUFFIXES - {".gif"}
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() in suffixes and f.is_file())
    return [{empty[0].name: str(f)} for f in files[:MAX_FOLDER_EXAMPLES]]


def _usable(p: Param, value: Any, may_be_empty: bool) -> bool:
    if value is None:
        return may_be_empty
    if p.kind in ("image", "video", "file", "sketch"):
        return Path(value).is_file()
    return True


# A writing pad for "strokes" inputs: pointer events (mouse, pen, touch) are kept as strokes of [x, y, t] points
# (canvas pixels, y down, t in seconds from the first touch), not as a bitmap, and written as JSON into the hidden
# textbox that is the real input. Gradio's textbox takes a value from an "input" event on its <textarea>.
_STROKES_HTML = """
<div class="dg-pad">
  <canvas width="720" height="160" style="width:100%;max-width:720px;height:160px;border:1px solid #bbb;
    border-radius:6px;background:#fff;touch-action:none;cursor:crosshair"></canvas>
  <div style="font-size:0.85em;color:#666">Write one line with the mouse or a pen, then type what you wrote.
    <button type="button" class="dg-pad-clear" style="margin-left:1em">clear</button>
    <span class="dg-pad-count"></span></div>
</div>
"""

_STROKES_JS = """
const canvas = element.querySelector('canvas');
const ctx = canvas.getContext('2d');
const box = () => document.querySelector('#BOX_ID textarea');
let strokes = [], current = null, t0 = null;
const pos = (e) => {
  const r = canvas.getBoundingClientRect();
  return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
};
const publish = () => {
  const t = box();
  element.querySelector('.dg-pad-count').textContent = strokes.length ? strokes.length + ' strokes' : '';
  if (!t) return;
  t.value = strokes.length ? JSON.stringify(strokes) : '';
  t.dispatchEvent(new Event('input', {bubbles: true}));
};
canvas.addEventListener('pointerdown', (e) => {
  e.preventDefault();
  canvas.setPointerCapture(e.pointerId);
  if (t0 === null) t0 = performance.now();
  const [x, y] = pos(e);
  current = [[+x.toFixed(1), +y.toFixed(1), +((performance.now() - t0) / 1000).toFixed(3)]];
  ctx.lineWidth = 2.5; ctx.lineCap = 'round'; ctx.lineJoin = 'round'; ctx.strokeStyle = '#142a5a';
  ctx.beginPath(); ctx.moveTo(x, y);
});
canvas.addEventListener('pointermove', (e) => {
  if (!current) return;
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of (events.length ? events : [e])) {
    const [x, y] = pos(ev);
    current.push([+x.toFixed(1), +y.toFixed(1), +((performance.now() - t0) / 1000).toFixed(3)]);
    ctx.lineTo(x, y);
  }
  ctx.stroke();
});
const end = () => { if (current) { strokes.push(current); current = null; publish(); } };
canvas.addEventListener('pointerup', end);
canvas.addEventListener('pointercancel', end);
element.querySelector('.dg-pad-clear').addEventListener('click', () => {
  strokes = []; current = null; t0 = null; ctx.clearRect(0, 0, canvas.width, canvas.height); publish();
});
"""


def strokes_pad(p: Param, kw: dict[str, Any]) -> gr.components.Component:
    """The pad (gr.HTML, drawn with pointer events) and, returned as the input, a hidden textbox with its JSON."""
    box_id = kw.get("elem_id") or f"strokes-{p.name}"
    gr.HTML(html_template=f'<div style="font-size:0.9em;margin-bottom:4px">{kw["label"]}</div>' + _STROKES_HTML,
            js_on_load=_STROKES_JS.replace("BOX_ID", box_id))
    return gr.Textbox(value=p.default or "", label=kw["label"] + " (strokes as JSON)", elem_id=box_id,
                      info=p.help or None, visible="hidden")
