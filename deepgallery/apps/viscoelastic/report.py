"""What `run` prints and writes: the model line, the network-vs-solver table, the error summary, the solver's
stresses at depth, and the JSON record; and the built-in demo requests."""

from __future__ import annotations

import json

from ...core.atomic import write_text
from .physics import Cycle, EarthModel

# (title, earth, cycle or None, distances km, times yr or None, x_max km, --model)
DEMOS = [
    ("3-D: a 120 km long fault, surface to 15 km, in a 30 km elastic layer over a Maxwell half-space (1e19 Pa s)",
     EarthModel(), None, [5.0, 15.0, 30.0, 60.0], [0.0, 2.0, 10.0, 30.0, 100.0], 150.0, "3d"),
    ("Three layers: 5 m event, elastic upper crust 30 km, lower crust 20 km (1e19 Pa s), mantle 5e19 Pa s",
     EarthModel(), None, [5.0, 15.0, 30.0, 60.0], [0.0, 2.0, 10.0, 30.0, 100.0], 150.0, "layered"),
    ("Three layers: fault through a 15 km upper crust, strong lower crust (1e20 Pa s) over a weak mantle (1e19)",
     EarthModel(fault_depth=15.0, layer_thickness=15.0, lower_crust_thickness=20.0, viscosity=1e20,
                mantle_viscosity=1e19), None, [5.0, 20.0, 50.0, 100.0], [0.0, 1.0, 5.0, 20.0, 100.0], 200.0,
     "layered"),
    ("Savage-Prescott: fault through the whole layer (D = H = 20 km) over a weak half-space (eta = 3e18 Pa s)",
     EarthModel(fault_depth=20.0, layer_thickness=20.0, viscosity=3e18), None, [5.0, 20.0, 50.0, 100.0],
     [0.0, 1.0, 5.0, 20.0, 50.0], 200.0, "savage-prescott"),
    ("Earthquake cycle: an event every 150 yr on a fault loaded at 35 mm/yr (eta = 1e19 Pa s)",
     EarthModel(), Cycle(), [5.0, 15.0, 30.0, 60.0], None, 150.0, "savage-prescott"),
]


def summary_line(table: dict) -> str:
    s = table["summary"]
    return (f"relative RMSE network vs solver on the plotted curves: {s['rel_rmse_on_plotted_curves']:.2e} "
            f"(max |error| {s['max_abs_error']:.3g} {s['unit']})")


def print_run(description: str, table: dict, out_png, m: EarthModel, at_depth: dict | None,
              depth: float | None) -> None:
    """The model line, the table (solver, network, difference at every (x, t)), the summary, and the solver's
    displacement and stresses at `depth` when asked."""
    print(description)
    print("  ".join(f"{h:>22}" for h in table["headers"]))
    for row in table["data"]:
        print("  ".join(f"{v:>22g}" for v in row))
    print(summary_line(table))
    print(f"figure: {out_png}")
    if at_depth is not None:
        where = "elastic layer" if depth < m.layer_thickness else "Maxwell half-space"
        print(f"solver at depth {depth:g} km ({where}):")
        print("  ".join(f"{h:>16}" for h in at_depth["headers"]))
        for row in at_depth["data"]:
            print("  ".join(f"{v:>16.6g}" for v in row))


def write_json(path, table: dict, m: EarthModel, kind: str, cycle: Cycle | None, at_depth: dict | None,
               depth: float | None) -> None:
    """The run's record: the earth, the --model name, the cycle, the table and (if asked) the stresses at depth."""
    record = {"model": m.as_dict(), "model_kind": kind, "cycle": cycle and cycle.__dict__, **table}
    if at_depth is not None:
        record["at_depth"] = {"depth_km": depth, **at_depth}
    write_text(path, json.dumps(record, indent=2) + "\n")
