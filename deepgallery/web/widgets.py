"""Gradio components that fit each declared `Param` and `Output`, and each app's built-in examples.

Inputs: image -> image upload / webcam / clipboard, video -> upload / webcam, text -> textbox,
int / float with both bounds -> slider (else a number box), choice -> radio (a few) or dropdown,
bool -> checkbox, file -> file upload. Outputs follow `jobs.widget_kind`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from ..registry import Output, Param
from .jobs import widget_kind


def input_component(p: Param) -> gr.components.Component:
    label, info = p.name.replace("_", " "), p.help or None
    if p.kind == "image":
        value = str(p.default) if p.default and Path(p.default).is_file() else None
        return gr.Image(value=value, type="filepath", label=label, sources=["upload", "webcam", "clipboard"],
                        image_mode=None, format="png", height=320)
    if p.kind == "video":
        value = str(p.default) if p.default and Path(p.default).is_file() else None
        return gr.Video(value=value, label=label, sources=["upload", "webcam"], height=320)
    if p.kind == "file":
        return gr.File(label=label, type="filepath")
    if p.kind == "text":
        return gr.Textbox(value=p.default or "", label=label, info=info, lines=2)
    if p.kind in ("int", "float"):
        step = p.step if p.step is not None else (1 if p.kind == "int" else None)
        if p.minimum is not None and p.maximum is not None:
            return gr.Slider(p.minimum, p.maximum, value=p.default, step=step, label=label, info=info)
        return gr.Number(value=p.default, label=label, info=info, minimum=p.minimum, maximum=p.maximum,
                         precision=0 if p.kind == "int" else None, step=step or 1)
    if p.kind == "bool":
        return gr.Checkbox(value=bool(p.default), label=label, info=info)
    if p.kind == "choice":
        choices = list(p.choices)
        default = p.default if p.default in choices else (choices[0] if choices else None)
        if len(choices) <= 4:
            return gr.Radio(choices=choices, value=default, label=label, info=info)
        return gr.Dropdown(choices=choices, value=default, label=label, info=info)
    return gr.Textbox(value=None if p.default is None else str(p.default), label=label, info=info)


def output_component(out: Output) -> gr.components.Component:
    label = out.name.replace("_", " ") + (f" — {out.help}" if out.help else "")
    kind = widget_kind(out)
    if kind == "image":
        return gr.Image(label=label, type="filepath", format="png", interactive=False)
    if kind == "video":
        return gr.Video(label=label, interactive=False, autoplay=True, loop=True)
    if kind == "gallery":
        return gr.Gallery(label=label, columns=4, interactive=False)
    if kind == "table":
        return gr.Dataframe(label=label, interactive=False, wrap=True)
    if kind == "text":
        return gr.Textbox(label=label, lines=3, interactive=False, buttons=["copy"])
    if kind == "number":
        return gr.Number(label=label, interactive=False)
    if kind == "file":
        return gr.File(label=label, interactive=False)
    return gr.JSON(label=label, open=True)


def example_rows(params: tuple[Param, ...], hooks: Any) -> list[list[Any]]:
    """Built-in examples, one row of input values each.

    From the entry module's ``EXAMPLES`` (a list of ``{input name: value}``, missing names take the
    default) or ``examples()`` returning such a list; else one row of the declared defaults when every
    input has one (media defaults must be existing files).
    """
    source = getattr(hooks, "EXAMPLES", None)
    if source is None and callable(getattr(hooks, "examples", None)):
        source = hooks.examples()
    if source is None:
        source = [{}]
    rows = []
    for example in source:
        row = [example.get(p.name, p.default) for p in params]
        if all(_usable(p, v) for p, v in zip(params, row, strict=True)):
            rows.append([str(v) if isinstance(v, Path) else v for v in row])
    return rows


def _usable(p: Param, value: Any) -> bool:
    if value is None:
        return False
    if p.kind in ("image", "video", "file"):
        return Path(value).is_file()
    return True
