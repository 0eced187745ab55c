"""viscoelastic: a neural surrogate for postseismic viscoelastic relaxation (DeVries et al. 2017)."""

from ...core.app import App, Headline, Output, Param

APP = App(
    id="viscoelastic",
    title="Neural surrogate for viscoelastic earthquake cycles",
    paper="DeVries et al. 2017, Enabling large-scale viscoelastic calculations via neural network acceleration",
    paper_url="https://arxiv.org/abs/1701.08884",
    summary="An MLP learns the postseismic surface displacement after a strike-slip earthquake -- a finite 3-D fault "
            "in an elastic layer over a Maxwell half-space (wavenumber Green's functions + Talbot Laplace inversion "
            "+ Hankel transforms), a 2-D three-layer earth (elastic upper crust, Maxwell lower crust and mantle), "
            "and the classic elastic layer over a Maxwell half-space (Savage & Prescott 1978) with its earthquake "
            "cycle -- and evaluates it hundreds of times faster; plots network vs solver.",
    status="built",
    extra="science",
    entry="deepgallery.apps.viscoelastic.entry",
    inputs=(
        Param("model", "choice", "layered: elastic upper crust / Maxwell lower crust / Maxwell mantle; "
              "savage-prescott: elastic layer over one Maxwell half-space; 3d: a finite fault of fault_length in "
              "an elastic layer over a Maxwell half-space (u_x across the fault's centre)", "layered",
              choices=("layered", "savage-prescott", "3d")),
        Param("fault_length", "float", "L, km, of the 3-D fault (model 3d)", 120.0, minimum=1.0, maximum=2000.0,
              step=1.0),
        Param("fault_depth", "float", "D, km: the fault slips from the surface to this depth (<= H)", 15.0,
              minimum=1.0, maximum=200.0, step=0.5),
        Param("layer_thickness", "float", "H (H1), km: elastic layer (upper crust)", 30.0,
              minimum=5.0, maximum=200.0, step=0.5),
        Param("lower_crust_thickness", "float", "H2, km: Maxwell lower crust (layered model)", 20.0,
              minimum=1.0, maximum=300.0, step=0.5),
        Param("viscosity", "float", "eta, Pa s, under the elastic layer: lower crust (layered) or half-space", 1e19,
              minimum=1e16, maximum=1e24),
        Param("mantle_viscosity", "float", "eta3, Pa s, of the Maxwell mantle (layered model)", 5e19,
              minimum=1e16, maximum=1e24),
        Param("shear_modulus", "float", "mu, GPa", 30.0, minimum=1.0, maximum=200.0, step=1.0),
        Param("slip", "float", "s, m: coseismic slip", 5.0, minimum=0.01, maximum=100.0, step=0.1),
        Param("t_max", "float", "years after the earthquake shown", 100.0, minimum=0.1, maximum=10000.0),
        Param("x_max", "float", "half-width of the profile, km", 150.0, minimum=1.0, maximum=2000.0),
    ),
    outputs=(
        Output("plot", "image", "surface displacement vs distance at 5 times and vs time at 4 distances: "
                                "solver (solid) and network (dashed)"),
        Output("table", "table", "solver and network displacement at those distances and times"),
    ),
    checkpoints=("layered3d", "layered", "surrogate", "cycle"),
    headline=Headline("speedup", "speed-up over the solver", "≈ 500×", "{:.0f}×"),
)
