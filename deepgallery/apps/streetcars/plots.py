"""Figures: a photo with its vehicles boxed, the regression scatter plots, and the HTML map of the regions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .detector import Detection

COLOURS = {"car": (40, 120, 255), "truck": (255, 140, 0), "bus": (200, 40, 200), "motorcycle": (20, 180, 60)}


def draw_detections(rgb: np.ndarray, found: list[Detection], out: Path, fine: list[str] | None = None) -> Path:
    """The photo with every vehicle boxed in its body type's colour and labelled (class and score), as PNG."""
    from PIL import Image, ImageDraw, ImageFont

    from ...core.media import save_image

    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    width = max(2, round(max(image.size) / 300))
    try:
        font = ImageFont.load_default(size=max(12, round(max(image.size) / 45)))
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    for i, det in enumerate(found):
        colour = COLOURS.get(det.label, (255, 0, 0))
        draw.rectangle([det.x1, det.y1, det.x2, det.y2], outline=colour, width=width)
        name = fine[i] if fine and fine[i] != det.label else det.label
        text = f"{name} {det.score:.2f}"
        box = draw.textbbox((det.x1, det.y1), text, font=font)
        y = det.y1 - (box[3] - box[1]) - 4 if det.y1 > (box[3] - box[1]) + 4 else det.y1
        draw.rectangle([det.x1, y, det.x1 + box[2] - box[0] + 6, y + box[3] - box[1] + 4], fill=colour)
        draw.text((det.x1 + 3, y + 1 - (box[1] - det.y1)), text, fill=(255, 255, 255), font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    return save_image(out, np.asarray(image))


def scatter(fits: list, rows: list[dict], out: Path) -> Path:
    """One panel per fit: held-out prediction against the truth (ridge), or the headline's log(sedans / pickups)
    against the outcome with the fitted probability curve (logistic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ...core.atomic import write_figure
    from .regress import sigmoid

    n = len(fits)
    cols = min(3, n)
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(4.2 * cols, 3.6 * ((n + cols - 1) // cols)),
                             squeeze=False)
    for ax, fit in zip(axes.flat, fits, strict=False):
        if fit.kind == "ridge":
            ax.scatter(fit.truth, fit.predicted, s=14, alpha=0.75)
            lo, hi = float(min(fit.truth.min(), fit.predicted.min())), float(max(fit.truth.max(), fit.predicted.max()))
            ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8)
            ax.set_xlabel(f"true {fit.target}")
            ax.set_ylabel("predicted (held out)")
            ax.set_title(f"{fit.target}: ridge, cv r = {fit.score:.2f}", fontsize=10)
        elif len(fit.features) == 1:
            feature = [r[fit.features[0]] for r in rows] if len(rows) == fit.n else None
            xs = np.array(feature if feature is not None else fit.predicted)
            jitter = np.random.default_rng(0).uniform(-0.04, 0.04, len(xs))
            ax.scatter(xs, fit.truth + jitter, s=14, alpha=0.75, c=fit.truth, cmap="coolwarm", vmin=0, vmax=1)
            grid = np.linspace(xs.min(), xs.max(), 100)
            w = next(iter(fit.weights.values()))
            std = xs.std() or 1.0
            ax.plot(grid, sigmoid((grid - xs.mean()) / std * w + fit.intercept), color="black", lw=1)
            ax.set_xlabel("log(sedans / pickups)  [car / truck]")
            ax.set_ylabel(f"P({fit.target} = {fit.classes[1]})")
            ax.set_title(f"{fit.target} from sedans:pickups, cv acc = {fit.score:.0%}", fontsize=10)
        else:
            order = np.argsort(fit.predicted)
            ax.scatter(np.arange(fit.n), fit.predicted[order], s=14, c=fit.truth[order], cmap="coolwarm",
                       vmin=0, vmax=1)
            ax.axhline(0.5, color="grey", lw=0.8)
            ax.set_xlabel("regions, by held-out prediction")
            ax.set_ylabel(f"P({fit.target} = {fit.classes[1]})")
            ax.set_title(f"{fit.target}: logistic, all features, cv acc = {fit.score:.0%}", fontsize=10)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    return write_figure(out, fig, dpi=110, format="png")


def region_map(rows: list[dict], out: Path, fits: list | None = None, stats: dict | None = None) -> Path | None:
    """An HTML map (folium / Leaflet): one circle per region at its photos' mean position, sized by its vehicles,
    coloured by its sedan : pickup ratio (blue: more sedans, red: more pickups); a click shows its numbers.
    None when no region has a position."""
    placed = [r for r in rows if r.get("lat") is not None]
    if not placed:
        return None
    try:
        import folium
    except ModuleNotFoundError:
        from ...core.errors import UserError

        raise UserError("the map needs folium: pip install 'deepgallery[streetcars]'") from None
    from ...core.atomic import atomic_path

    predicted = {}
    for fit in fits or []:
        if fit.kind == "logistic" and len(fit.features) == 1:
            names = [r["region"] for r in rows if stats is None or r["region"] in stats]
            if len(names) == fit.n:
                predicted = {n: (fit.target, fit.classes, p) for n, p in zip(names, fit.predicted, strict=True)}
            break
    centre = [float(np.mean([r["lat"] for r in placed])), float(np.mean([r["lon"] for r in placed]))]
    fmap = folium.Map(location=centre, zoom_start=12, tiles="OpenStreetMap")
    lo, hi = min(r["log_sedan_pickup"] for r in placed), max(r["log_sedan_pickup"] for r in placed)
    for r in placed:
        t = (r["log_sedan_pickup"] - lo) / (hi - lo) if hi > lo else 0.5
        colour = f"#{int(220 * (1 - t) + 30):02x}{60:02x}{int(220 * t + 30):02x}"
        lines = [f"<b>{r['region']}</b>", f"photos: {r['photos']}", f"vehicles: {r['vehicles']}",
                 f"cars {r['car']}, trucks {r['truck']}, buses {r['bus']}, motorcycles {r['motorcycle']}",
                 f"log(sedans/pickups): {r['log_sedan_pickup']:.2f}"]
        if r["region"] in predicted:
            target, classes, p = predicted[r["region"]]
            lines.append(f"held-out P({target} = {classes[1]}): {p:.2f}")
        if stats and r["region"] in stats:
            lines += [f"{k}: {v}" for k, v in stats[r["region"]].items() if k not in ("region", "lat", "lon")]
        folium.CircleMarker([r["lat"], r["lon"]], radius=5 + 2 * np.sqrt(r["vehicles"]), color=colour, fill=True,
                            fill_opacity=0.7, popup=folium.Popup("<br>".join(lines), max_width=320),
                            tooltip=r["region"]).add_to(fmap)
    with atomic_path(out) as tmp:
        fmap.save(str(tmp))
    return out
