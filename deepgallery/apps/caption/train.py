"""Training both of the paper's models on a Karpathy split file (resumable; one or several processes under torchrun).

    deepgallery train caption --data karpathy dataset_coco.json --images ~/coco --out runs/coco
    torchrun --nproc_per_node 4 -m deepgallery train caption --device cuda --data karpathy dataset_coco.json \
        --images ~/coco --out runs/coco4
    deepgallery train caption --data karpathy /tmp/caption/data/dataset_photos.json \
        --images /tmp/caption/data/images --features-cache /tmp/caption/data/features.npz --out runs/photos

Every image is first encoded once (regions by the COCO detector, CNN features; features.py) and the result kept in
the features cache, so a second run or a resumed one does not detect again. A step takes a batch of images, one of
each image's sentences (drawn from (seed, epoch, image)), and minimises

    ranking loss (eq. 9, over every image-sentence pair of the global batch) / B  +  m-RNN NLL / B

(the two models share nothing, so this is training them side by side). Under torchrun each process embeds its
share of the batch and receives the others' embeddings (without gradient); every process then computes the same
global loss, times N because DDP averages gradients over N processes, each of which only differentiates through
its own share: N processes take exactly one process's step (tests/test_caption.py checks it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ...core import checkpoint, distributed
from ...core.config import option
from ...core.errors import UserError
from ...core.runtime import progress, seed_everything
from ...core.training import Steps
from .data import CaptionedImage, Vocabulary, read_karpathy
from .features import EncodedImage, encode, load_cache, model_features, save_cache
from .model import AlignmentModel, CaptionModel, ModelConfig, generation_loss, parameter_count, ranking_loss


@dataclass
class TrainConfig:
    """Training. The defaults here trained the shipped checkpoint (its JSON has the command, feature_dropout then
    absent, i.e. 0)."""

    epochs: int = option(60, "passes over the training images (one sentence of each image per pass)", minimum=1)
    batch: int = option(100, "images per step (the paper: 100), split over processes under torchrun", minimum=2)
    lr: float = option(1e-3, "Adam learning rate (the paper: SGD with momentum 0.9 / RMSprop), decayed linearly "
                             "to 10%%", minimum=0, allow_zero=False)
    weight_decay: float = option(1e-5, "L2 weight decay", minimum=0)
    clip: float = option(5.0, "clip every gradient element to ±this (the paper clips at 5)", minimum=0,
                         allow_zero=False)
    margin: float = option(1.0, "ranking margin of eq. 9", minimum=0, allow_zero=False)
    min_count: int = option(3, "words seen fewer times become <unk> (the paper: 5 on COCO)", minimum=1)
    max_words: int = option(16, "longer sentences are cut to this many words", minimum=2)
    max_regions: int = option(9, "detections per image besides the whole image (the paper: 19)", minimum=0)
    min_score: float = option(0.3, "detector score a region needs", minimum=0.01, maximum=0.99)
    embed: int = option(192, "h, the region-word embedding size", minimum=8)
    word_dim: int = option(128, "word vector size", minimum=8)
    hidden: int = option(256, "m-RNN hidden units", minimum=8)
    region_pool: bool = option(True, "the m-RNN's image vector also sees the max of the region features (off: the "
                                     "paper's whole-image feature only)")
    snippets_from: float = option(0.5, "from this fraction of the steps on, the m-RNN also trains on the MRF's "
                                       "region snippets (Section 3.1.4 / 4.3), recomputed each epoch; 1: never",
                                  minimum=0, maximum=1)
    mrf_beta: float = option(1.5, "β of the MRF alignment (eq. 10-11): how much neighbouring words prefer one region",
                             minimum=0)
    image_every_step: bool = option(False, "the m-RNN's image bias enters every step, not only the first (the "
                                           "paper: first step only, every step overfitted on COCO)")
    class_scores: bool = option(True, "each region's input also holds its detector class score (80 values); off: "
                                      "the CNN feature only, as in the paper")
    feature_dropout: float = option(0.0, "dropout on the CNN part of every input row (in standardised units; the "
                                         "class scores are kept): makes the m-RNN read the detector's classes",
                                    minimum=0, maximum=0.9)
    limit: int = option(0, "use only the first N training images (0: all); for quick trials", minimum=0)
    seed: int = option(0, "initial weights and sentence choice", minimum=0)
    save_every: int = field(default=100)  # steps between resumable checkpoints


def encode_images(images: list[CaptionedImage], cache: Path | None, cfg: TrainConfig, log=print
                  ) -> dict[str, EncodedImage]:
    """Regions and features of every image, from the cache where present; new ones are added to it."""
    from ...core.media import read_image

    encoded = load_cache(cache) if cache and cache.is_file() else {}
    todo = [im for im in images if im.key not in encoded]
    bad = 0
    for im in progress(todo, desc="detect + embed", enabled=bool(todo)):
        try:
            rgb = read_image(im.path)
        except UserError:
            bad += 1
            continue
        encoded[im.key] = encode(rgb, cfg.max_regions, cfg.min_score)
    if bad:
        log(f"skipped {bad} unreadable image(s)")
    if todo and cache:
        save_cache(cache, encoded)
    return encoded


@dataclass
class Tensors:
    """Training images as fixed-shape tensors: (N, R, 1280) features, (N, R) region mask, sentences (N, S, T)."""

    features: torch.Tensor
    region_mask: torch.Tensor
    sentences: torch.Tensor  # (N, S, T) word ids, 0 = padding
    lengths: torch.Tensor  # (N, S) words per sentence (0 for a missing sentence)


def to_tensors(images: list[CaptionedImage], encoded: dict[str, EncodedImage], vocab: Vocabulary,
               cfg: TrainConfig) -> Tensors:
    images = [im for im in images if im.key in encoded]
    R, T = cfg.max_regions + 1, cfg.max_words
    S = max(len(im.sentences) for im in images)
    dim = encoded[images[0].key].features.shape[1] + (80 if cfg.class_scores else 0)
    feats = torch.zeros(len(images), R, dim)
    mask = torch.zeros(len(images), R, dtype=torch.bool)
    sents = torch.zeros(len(images), S, T, dtype=torch.long)
    lengths = torch.zeros(len(images), S, dtype=torch.long)
    for n, im in enumerate(images):
        f = model_features(encoded[im.key], dim)[:R]
        feats[n, :len(f)] = torch.from_numpy(np.asarray(f, np.float32))
        mask[n, :len(f)] = True
        for j, tokens in enumerate(im.sentences):
            ids = vocab.encode(tokens[:T])
            sents[n, j, :len(ids)] = torch.tensor(ids)
            lengths[n, j] = len(ids)
    return Tensors(feats, mask, sents, lengths)


def drop_cnn_features(feats: torch.Tensor, mean: torch.Tensor, p: float, n_class: int) -> torch.Tensor:
    """Dropout in standardised units on the CNN columns of (..., D) input rows: each is replaced by its mean (0 after
    the model's standardisation) with probability p and the kept ones are scaled by 1 / (1 - p) about the mean; the
    last `n_class` columns (the detector's class scores) are left as they are."""
    if p <= 0:
        return feats
    cnn = feats.shape[-1] - n_class
    keep = (torch.rand(feats.shape[:-1] + (cnn,)) >= p).float()
    out = feats.clone()
    out[..., :cnn] = mean[:cnn] + (feats[..., :cnn] - mean[:cnn]) * keep / (1 - p)
    return out


def _gather(x: torch.Tensor, ctx: distributed.Dist) -> torch.Tensor:
    """Every process's `x` in rank order; only this process's own part carries gradient."""
    if not ctx.active:
        return x
    import torch.distributed as dist

    parts = [torch.empty_like(x) for _ in range(ctx.world)]
    dist.all_gather(parts, x.detach().contiguous())
    parts[ctx.rank] = x
    return torch.cat(parts)


def step_loss(model, batch: tuple[torch.Tensor, ...], cfg: TrainConfig, ctx: distributed.Dist, global_batch: int
              ) -> tuple[torch.Tensor, float, float]:
    """This process's loss for one step (see the module docstring), and the ranking and NLL parts per image."""
    features, region_mask, words, lengths, *snip = batch
    word_mask = torch.arange(words.shape[1], device=words.device)[None] < lengths[:, None]
    # through the (DDP-wrapped) forward, so gradients synchronise: embeddings and the m-RNN's logits
    v, s, logits, snip_logits = model(features, region_mask, words, word_mask, *snip[:2])
    v_all, s_all = _gather(v, ctx), _gather(s, ctx)
    rmask_all, wmask_all = _gather(region_mask, ctx), _gather(word_mask, ctx)
    words_all = _gather(words, ctx)
    S = AlignmentModel.image_sentence_scores(AlignmentModel.region_word_scores(v_all, s_all), rmask_all, wmask_all)
    same = (words_all[:, None, :] == words_all[None, :, :]).all(-1)  # identical sentences are no false pairs
    rank = ranking_loss(S, cfg.margin, same) / global_batch
    nll = generation_loss(logits, words, lengths) / len(words)
    loss = rank * ctx.world + nll
    if snip_logits is not None:  # the region snippets: the m-RNN on one region's feature and its words
        loss = loss + generation_loss(snip_logits, snip[1], snip[2]) / len(snip[1])
    return loss, rank.item(), nll.item()


class _Both(torch.nn.Module):
    """DDP synchronises gradients through the wrapped module's forward: embeddings of both sides and the m-RNN."""

    def __init__(self, model: CaptionModel):
        super().__init__()
        self.module_ = model

    def forward(self, features, region_mask, words, word_mask, snip_features=None, snip_words=None):
        m = self.module_
        snip = m.rnn(snip_features, snip_words) if snip_features is not None else None
        return (m.align.image(features), m.align.sentence(words, word_mask), m.rnn(features, words, region_mask),
                snip)


@torch.no_grad()
def region_snippets(model: CaptionModel, data: Tensors, pick: torch.Tensor, beta: float, max_words: int,
                    chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Section 3.1.4 then 4.3: every training image's sentence of this epoch aligned to its regions by the MRF
    (eq. 10-11) over the current alignment model's v_i·s_t; each run of words on one detected region becomes a
    training pair (that region's CNN feature, the snippet). -> features (M, 1280), words (M, T), lengths (M,)."""
    from .model import mrf_alignment, snippets

    feats, rows, lens = [], [], []
    for a in range(0, len(data.features), chunk):
        idx = torch.arange(a, min(a + chunk, len(data.features)))
        words = data.sentences[idx, pick[idx]]
        lengths = data.lengths[idx, pick[idx]]
        wmask = torch.arange(words.shape[1])[None] < lengths[:, None]
        v = model.align.image(data.features[idx])
        s = model.align.sentence(words, wmask)
        dots = torch.einsum("nrh,nth->nrt", v, s)
        for n in range(len(idx)):
            R, T = int(data.region_mask[idx[n]].sum()), int(lengths[n])
            if R < 2 or T < 2:
                continue
            path = mrf_alignment(dots[n, :R, :T], beta)
            for region, ids in snippets(words[n, :T].tolist(), path):
                feats.append(data.features[idx[n], region])
                row = torch.zeros(max_words, dtype=torch.long)
                row[:len(ids)] = torch.tensor(ids)
                rows.append(row)
                lens.append(len(ids))
    if not feats:
        return torch.zeros(0, data.features.shape[-1]), torch.zeros(0, max_words, dtype=torch.long), \
            torch.zeros(0, dtype=torch.long)
    return torch.stack(feats), torch.stack(rows), torch.tensor(lens)


@dataclass
class TrainResult:
    model: CaptionModel
    losses: list[tuple[float, float]]  # (ranking, nll) per step, this process's view
    step: int
    seconds: float
    images: int


def train(out: str | Path, cfg: TrainConfig, data_json: str | Path, images_dir: str | Path,
          cache: str | Path | None = None, ctx: distributed.Dist | None = None, log=print) -> TrainResult:
    ctx = ctx or distributed.Dist(device=torch.device("cpu"))
    if cfg.batch % ctx.world:
        raise UserError(f"--batch {cfg.batch} cannot be split evenly over {ctx.world} processes; "
                        f"use a multiple of {ctx.world}")
    images = read_karpathy(data_json, images_dir, ("train",))
    if cfg.limit:
        images = images[:cfg.limit]
    out = Path(out)
    cache = Path(cache) if cache else out / "features.npz"
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        encode_images(images, cache, cfg, log)
    distributed.barrier(ctx)
    encoded = load_cache(cache)
    vocab = Vocabulary.build([s for im in images for s in im.sentences], cfg.min_count)
    data = to_tensors(images, encoded, vocab, cfg)
    n = len(data.features)
    if n < cfg.batch:
        raise UserError(f"only {n} training images, fewer than --batch {cfg.batch}")
    seed_everything(cfg.seed)  # the same initial weights on every process
    mcfg = ModelConfig(feature_dim=data.features.shape[-1], embed=cfg.embed, word_dim=cfg.word_dim,
                       hidden=cfg.hidden, vocab=len(vocab), region_pool=cfg.region_pool,
                       image_every_step=cfg.image_every_step)
    model = CaptionModel(mcfg, vocab)
    real = data.features[data.region_mask]  # (regions, 1280)
    mean, std = real.mean(0), real.std(0)
    if cfg.class_scores:
        mean[-80:], std[-80:] = 0, 1  # class scores as they are (a class unseen here stays 0 · weight)
    model.set_feature_statistics(mean, std)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    state = out / "state"
    config = {"model": mcfg.to_dict(), "vocab": vocab.words, "train": asdict(cfg)}
    meta = checkpoint.resume(state, model, opt, same={"model": mcfg, "vocab": vocab.words},
                             how_to_fix="give another --out, or the settings and data it was trained with")
    loader = distributed.loader(torch.utils.data.TensorDataset(torch.arange(n)), ctx, cfg.batch, shuffle=True,
                                seed=cfg.seed, drop_last=True)
    per_epoch = n // cfg.batch
    total = per_epoch * cfg.epochs
    wrapped = distributed.wrap(_Both(model), ctx)
    losses: list[tuple[float, float]] = []  # (ranking, nll) per step

    def save(s: Steps) -> None:
        checkpoint.save(state, model.state_dict(), config, optimizer=opt,
                        meta={"step": s.step, "seconds": s.seconds, "images": n})

    def start_epoch(epoch: int) -> tuple[torch.Tensor, tuple[torch.Tensor, ...] | None]:
        """Which of its sentences each image shows this epoch (from (seed, epoch), the same on every process) and,
        from `snippets_from` on, the MRF's region snippets of the alignment model as it stands at the epoch's start
        (a run resumed mid-epoch recomputes them from the resumed model)."""
        gen = torch.Generator().manual_seed(cfg.seed * 7919 + epoch)
        pick = (torch.rand(n, generator=gen) * (data.lengths > 0).sum(1)).long()  # (N,)
        if not (cfg.snippets_from < 1 and steps.step >= cfg.snippets_from * total):
            return pick, None
        model.eval()
        snip = region_snippets(model, data, pick, cfg.mrf_beta, cfg.max_words)
        wrapped.train()
        first = steps.step < cfg.snippets_from * total + per_epoch or steps.step % per_epoch  # (or resumed in it)
        if ctx.is_main and first:
            log(f"\nepoch {epoch}: {len(snip[0])} region snippets, e.g. "
                + "; ".join(" ".join(vocab.decode(w)) for w in snip[1][:6]))
        return pick, snip if len(snip[0]) else None

    with Steps(total, ctx, save, meta=meta, save_every=cfg.save_every, log=log,
               desc=f"train caption ({parameter_count(model):,} parameters)") as steps:
        wrapped.train()
        for (pick, snip), (idx,) in steps.epochs(loader, per_epoch, start_epoch):
            step = steps.step
            for group in opt.param_groups:  # linear decay to 10 %, from the step alone: resumes exactly
                group["lr"] = cfg.lr * (1 - 0.9 * step / total)
            words = data.sentences[idx, pick[idx]]
            lengths = data.lengths[idx, pick[idx]]
            feats = drop_cnn_features(data.features[idx], mean, cfg.feature_dropout, 80 if cfg.class_scores else 0)
            parts = [feats, data.region_mask[idx], words, lengths]
            if snip is not None:  # a global batch of snippets drawn from (seed, step); each rank takes its share
                g = torch.Generator().manual_seed(cfg.seed * 104729 + step)
                j = torch.randint(len(snip[0]), (cfg.batch,), generator=g)
                j = j[ctx.rank * len(idx):(ctx.rank + 1) * len(idx)]
                parts += [snip[0][j][:, None], snip[1][j], snip[2][j]]
            batch = tuple(t.to(ctx.device) for t in parts)
            loss, rank, nll = step_loss(wrapped, batch, cfg, ctx, cfg.batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_value_(model.parameters(), cfg.clip)
            opt.step()
            losses.append((rank, nll))
            recent = losses[-20:]
            steps.done(postfix={"rank": f"{sum(r for r, _ in recent) / len(recent):.3f}",
                                "nll": f"{sum(x for _, x in recent) / len(recent):.2f}"})
    model.eval()
    return TrainResult(model, losses, steps.step, steps.seconds, n)


def export(result: TrainResult, path: str | Path, cfg: TrainConfig, data: str, command: str,
           manifest: dict | None = None) -> Path:
    """The fp16 checkpoint `run` and `bench` load (what ships as APP.checkpoint("photos"))."""
    from .model import save

    meta = {"command": command, "data": data, "steps": result.step, "seconds": round(result.seconds, 1),
            "images": result.images, "parameters": parameter_count(result.model), "train": asdict(cfg),
            "final_loss": {"ranking": float(np.mean([r for r, _ in result.losses[-20:]] or [0])),
                           "nll": float(np.mean([x for _, x in result.losses[-20:]] or [0]))},
            "manifest": manifest or {}}
    return save(result.model, path, meta)
