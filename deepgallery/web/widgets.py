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
    return gr.Textbox(value=None if p.default is None else str(p.default), **kw, info=info)


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
    if p.kind in ("image", "video", "file"):
        return Path(value).is_file()
    return True
