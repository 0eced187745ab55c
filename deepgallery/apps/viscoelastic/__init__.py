"""viscoelastic: a neural surrogate for postseismic viscoelastic relaxation (DeVries et al. 2017)."""

from ...registry import App, Output, Param

APP = App(
    id="viscoelastic",
    title="Neural surrogate for viscoelastic earthquake cycles",
    paper="DeVries et al. 2017, Enabling large-scale viscoelastic calculations via neural network acceleration",
    paper_url="https://arxiv.org/abs/1701.08884",
    summary="An MLP learns the semi-analytic postseismic surface displacement of an elastic layer over a Maxwell "
            "half-space after a strike-slip earthquake (Savage & Prescott 1978) and evaluates it much faster; "
            "plots network vs solver over distance and time.",
    status="built",
    extra="science",
    entry="deepgallery.apps.viscoelastic.entry",
    inputs=(
        Param("fault_depth", "float", "D, km: the fault slips from the surface to this depth (<= H)", 15.0,
              minimum=1.0, maximum=200.0, step=0.5),
        Param("layer_thickness", "float", "H, km: elastic layer over the viscoelastic half-space", 30.0,
              minimum=5.0, maximum=200.0, step=0.5),
        Param("viscosity", "float", "eta, Pa s, of the Maxwell half-space (e.g. 1e19)", 1e19,
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
    checkpoints=("surrogate",),
)
