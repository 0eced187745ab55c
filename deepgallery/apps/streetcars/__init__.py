"""streetcars — cars in street photos → neighbourhood statistics (Gebru et al., PNAS 2017)."""

from ...core.app import App, Headline, Output, Param
from ...core.detector import CENTERNET_ASSET

APP = App(
    id="streetcars",
    title="Cars in street photos → neighbourhood statistics",
    paper=("Gebru et al. 2017, Using deep learning and Google Street View to estimate the demographic makeup of "
           "neighborhoods across the United States"),
    paper_url="https://www.pnas.org/doi/10.1073/pnas.1700035114",
    summary=(
        "Find every vehicle in a folder of street photos (a pretrained CenterNet COCO detector: car, pickup/"
        "truck, bus, motorcycle), count them per region, and predict each region's demographics from its car mix "
        "with cross-validated ridge and logistic regression — the paper's headline: sedans vs pickup trucks "
        "predict how a precinct votes. The detection stage is a resumable batch job (sqlite) on all local cores "
        "or a Dask cluster. The paper's fine-grained make/model/year classifier is here with its trainer "
        "(folder-per-class data such as Stanford Cars); no such model ships, as no car images exist offline."
    ),
    status="built",
    extra="streetcars",
    entry="deepgallery.apps.streetcars.entry",
    inputs=(
        Param("image", "image", "a street photo"),
        Param("min_score", "float", "keep detections at least this confident", default=0.3, minimum=0.05,
              maximum=0.95, step=0.05),
    ),
    outputs=(
        Output("image", "image", "the photo with every vehicle boxed and labelled"),
        Output("counts", "json", "vehicles by body type, and every detection's box and score"),
    ),
    assets=(CENTERNET_ASSET,),
    checkpoints=(),
    headline=Headline("cv_accuracy_generated", "vote predicted from car mix, generated city (CV accuracy)",
                      "88 % of cities (sedans > pickups ⇒ Democrat)", "{:.0%}"),
)
