"""sunroof — how much sun each roof gets and what solar panels there would produce (Google Project Sunroof)."""

from ...core.app import App, Headline, Output, Param

APP = App(
    id="sunroof",
    title="Rooftop solar potential",
    paper="Google Project Sunroof / Solar API (with GRASS r.sun and pvlib PVWatts as references)",
    paper_url="https://sunroof.withgoogle.com/",
    summary=(
        "From a surface model (a LiDAR or photogrammetry DSM as a GeoTIFF), optionally an orthophoto, footprints "
        "and a weather file: a U-Net finds roofs, trees and ground; robust plane fitting splits each roof into "
        "segments (pitch, azimuth, area); horizon angles per azimuth sector give the shade at every hour of the "
        "year; beam, sky-diffuse (sky-view factor) and ground-reflected irradiance on every tilted cell give an "
        "annual and monthly flux map; panels are laid on the sunniest usable parts of each segment and their AC "
        "energy comes from pvlib's PVWatts, with a simple financial estimate. Output as GeoTIFF, PNG, an HTML "
        "report and JSON named after the Solar API's buildingInsights."
    ),
    status="built",
    extra="solar",
    entry="deepgallery.apps.sunroof.entry",
    inputs=(
        Param("dsm", "file", "a digital surface model as a GeoTIFF in a metric CRS (empty: a generated town)"),
        Param("ortho", "file", "optional RGB orthophoto GeoTIFF of the same area"),
        Param("town_seed", "int", "seed of the generated town used when no DSM is given", default=7, minimum=0,
              maximum=9999, step=1),
        Param("panels", "int", "panels to place at most per building (0: as many as fit)", default=0, minimum=0,
              maximum=500, step=1),
    ),
    outputs=(
        Output("flux", "image", "annual irradiation on every cell's own surface, kWh/m²/year"),
        Output("panels", "image", "roof segments and the panel layout"),
        Output("table", "table", "per building: segments, panels, yearly AC energy, payback"),
        Output("insights", "json", "buildingInsights-style JSON (Solar API field names)"),
    ),
    checkpoints=("roofnet",),
    headline=Headline("poa_rel_error", "annual POA error vs pvlib, unshaded planes", "goal ≤ 1 %", "{:.2%}"),
)
