"""Karpathy & Fei-Fei (CVPR 2015), "Deep Visual-Semantic Alignments for Generating Image Descriptions".

Two models, as in the paper:

* Section 3.1, the **alignment model**: image regions and the words of a sentence are embedded in one
  h-dimensional space; a sentence and an image score by how well each word finds a region (eq. 8), and the two
  are trained with a bidirectional ranking loss (eq. 9) so true pairs outscore false ones by a margin.
* Section 3.2, the **multimodal RNN** (m-RNN): a generative RNN over words whose first step is biased by the
  image (eq. 10-13), trained to maximise the log-probability of the training sentences, and decoded by beam search.

The CNN and the detector are fixed (features.py); the models here start from their features: a (R, 1280) matrix
per image, row 0 the whole image (the paper: R = 20, row 0 the whole image, then the top 19 detections).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ...core import checkpoint
from .data import Vocabulary


@dataclass
class ModelConfig:
    feature_dim: int = 1280  # CNN feature size (EfficientNet-Lite0 pool; the paper's fc7: 4096)
    embed: int = 192  # h, the shared region-word space (the paper: 1000-1600)
    word_dim: int = 128  # word vectors of the BRNN and the m-RNN (the paper: 300-600, word2vec-initialised)
    hidden: int = 256  # m-RNN hidden units (the paper: 512)
    vocab: int = 0  # words, index 0 being the START/END token
    # the m-RNN's image vector also sees the element-wise max of the region features (whole image included): the
    # detected objects' CNN features, which the whole-image feature of a 224 px photo blurs (see MultimodalRNN)
    region_pool: bool = False
    # the image bias b_v enters every step, not only t = 1 (the paper found that worse on COCO; see MultimodalRNN)
    image_every_step: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------------- Section 3.1 alignment


class ImageEmbedding(nn.Module):
    """Eq. 1: v = W_m [CNN_θc(I_b)] + b_m, for every region b (and the whole image)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.W_m = nn.Linear(cfg.feature_dim, cfg.embed)
        # feature standardisation (fixed, from the training set): EfficientNet's pooled ReLU6 features are all
        # positive with very different scales; centring them lets one learning rate suit every input
        self.register_buffer("feature_mean", torch.zeros(cfg.feature_dim))
        self.register_buffer("feature_std", torch.ones(cfg.feature_dim))

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # (B, R, 1280) -> (B, R, h)
        return self.W_m((features - self.feature_mean) / self.feature_std)


class SentenceBRNN(nn.Module):
    """Eq. 2-6, the bidirectional RNN that gives every word t a vector s_t in context:

        x_t = W_w 𝕀_t                           e_t = f(W_e x_t + b_e)
        h^f_t = f(e_t + W_f h^f_{t-1} + b_f)     h^b_t = f(e_t + W_b h^b_{t+1} + b_b)
        s_t = f(W_d (h^f_t + h^b_t) + b_d)       with f = ReLU.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.W_w = nn.Embedding(cfg.vocab, cfg.word_dim)
        self.W_e = nn.Linear(cfg.word_dim, cfg.embed)
        self.W_f = nn.Linear(cfg.embed, cfg.embed)  # its bias is b_f
        self.W_b = nn.Linear(cfg.embed, cfg.embed)
        self.W_d = nn.Linear(cfg.embed, cfg.embed)

    def forward(self, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """words, mask: (B, T) word ids and 1 for real words (sentences left-aligned) -> s: (B, T, h), 0 at padding."""
        e = F.relu(self.W_e(self.W_w(words)))  # (B, T, h)
        m = mask.unsqueeze(-1).to(e.dtype)  # (B, T, 1)
        B, T, h = e.shape
        forward, backward = [], [None] * T
        hf = e.new_zeros(B, h)
        for t in range(T):
            hf = F.relu(e[:, t] + self.W_f(hf)) * m[:, t]
            forward.append(hf)
        hb = e.new_zeros(B, h)
        for t in reversed(range(T)):  # padding stays 0, so each sentence's backward pass starts at its own end
            hb = F.relu(e[:, t] + self.W_b(hb)) * m[:, t]
            backward[t] = hb
        s = F.relu(self.W_d(torch.stack(forward, 1) + torch.stack(backward, 1)))  # (B, T, h)
        return s * m


class AlignmentModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.image = ImageEmbedding(cfg)
        self.sentence = SentenceBRNN(cfg)

    @staticmethod
    def region_word_scores(v: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """v_i^T s_t for every image k, sentence l, region i, word t: (K, R, h), (L, T, h) -> (K, L, R, T)."""
        return torch.einsum("krh,lth->klrt", v, s)

    @staticmethod
    def image_sentence_scores(dots: torch.Tensor, region_mask: torch.Tensor, word_mask: torch.Tensor) -> torch.Tensor:
        """Eq. 8, S_kl = Σ_{t∈g_l} max_{i∈g_k} v_i^T s_t: every word aligns to its best region. -> (K, L)."""
        very_negative = torch.finfo(dots.dtype).min / 4
        dots = dots.masked_fill(~region_mask.bool()[:, None, :, None], very_negative)
        best = dots.max(dim=2).values  # (K, L, T)
        return (best * word_mask[None].to(best.dtype)).sum(-1)

    def forward(self, features, region_mask, words, word_mask):
        """(K, R, 1280), (K, R), (L, T), (L, T) -> S (K, L)."""
        v = self.image(features)  # (K, R, h)
        s = self.sentence(words, word_mask)  # (L, T, h)
        return self.image_sentence_scores(self.region_word_scores(v, s), region_mask, word_mask)


def ranking_loss(S: torch.Tensor, margin: float = 1.0, same: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 9, with image k and sentence k the true pairs (the diagonal of S):

        C(θ) = Σ_k [ Σ_l max(0, S_kl − S_kk + 1)  +  Σ_l max(0, S_lk − S_kk + 1) ]
                       (rank sentences for an image)      (rank images for a sentence)
    The l = k terms are the constant margin; they are left out. `same` (K, L), optional: pairs whose sentences
    are word for word the same (two photos both "a photo of a person"); such a pair is not a false one, and pushing
    it apart only teaches noise, so it is left out too (with human captions it almost never happens)."""
    diag = S.diagonal()
    off = ~torch.eye(len(S), dtype=torch.bool, device=S.device)
    if same is not None:
        off = off & ~same.bool()
    sentences = F.relu(S - diag[:, None] + margin)[off].sum()
    images = F.relu(S - diag[None, :] + margin)[off].sum()
    return sentences + images


def mrf_alignment(dots: torch.Tensor, beta: float) -> list[int]:
    """Section 3.1.4, eq. 10-11: the region a_j of every word j that maximises

        E(a) = Σ_j ψ^U_j(a_j) + Σ_{j<T} ψ^B_j(a_j, a_{j+1}),   ψ^U_j(a_j = i) = v_i·s_j,   ψ^B = β 𝟙[a_j = a_{j+1}]

    (a chain MRF; exact by dynamic programming). β = 0 gives each word its own best region (argmax); a large β
    gives the whole sentence one region; between, neighbouring words share a region and form snippets.
    dots: (R, T) v_i·s_t for one image and one sentence -> the region index of each of the T words."""
    R, T = dots.shape
    if T == 0:
        return []
    score = dots[:, 0].clone()  # best energy of words 0..j with word j on region i
    back = []
    for j in range(1, T):
        # from region p (row) to region i (column): stay on the same region earns β
        trans = score[:, None] + beta * torch.eye(R, dtype=dots.dtype, device=dots.device)
        best, arg = trans.max(0)
        back.append(arg)
        score = best + dots[:, j]
    path = [int(score.argmax())]
    for arg in reversed(back):
        path.append(int(arg[path[-1]]))
    return path[::-1]


def snippets(words: list, regions: list[int], min_words: int = 2) -> list[tuple[int, list]]:
    """The runs of consecutive words aligned to one region (the MRF's snippets), as (region, words), for the
    detected regions only (region 0, the whole image, is what the full sentences already train) and runs of at
    least `min_words` words ("a dog", "two people on the left")."""
    out, start = [], 0
    for j in range(1, len(words) + 1):
        if j == len(words) or regions[j] != regions[start]:
            if regions[start] != 0 and j - start >= min_words:
                out.append((regions[start], list(words[start:j])))
            start = j
    return out


# --------------------------------------------------------------------------------- Section 3.2 generation


class MultimodalRNN(nn.Module):
    """Eq. 10-13: given the image feature and the words x_1 … x_T (x_1 the START vector),

        b_v = W_hi [CNN_θc(I)]
        h_t = f(W_hx x_t + W_hh h_{t-1} + b_h + 𝟙(t = 1) ⊙ b_v)      (the image only biases the first step)
        y_t = softmax(W_oh h_t + b_o)                                   (the distribution of word t+1)
    with f = ReLU. The paper notes that feeding the image at every step made results worse (overfitting).
    cfg.image_every_step does it anyway (𝟙(t = 1) dropped; `--image-every-step`): on our few thousand mostly
    synthetic training images, the objects it named in photos it never saw were more often really there (object
    precision 0.28 -> 0.36 on the held-out photos, same data and settings; the app README has the numbers)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.W_hi = nn.Linear(cfg.feature_dim, cfg.hidden, bias=False)
        self.W_hr = nn.Linear(cfg.feature_dim, cfg.hidden, bias=False) if cfg.region_pool else None
        self.register_buffer("feature_mean", torch.zeros(cfg.feature_dim))
        self.register_buffer("feature_std", torch.ones(cfg.feature_dim))
        self.W_x = nn.Embedding(cfg.vocab, cfg.word_dim)  # index 0 = START (input) = END (output)
        self.W_hx = nn.Linear(cfg.word_dim, cfg.hidden)  # its bias is b_h
        self.W_hh = nn.Linear(cfg.hidden, cfg.hidden, bias=False)
        self.W_oh = nn.Linear(cfg.hidden, cfg.vocab)
        self.every_step = cfg.image_every_step

    def image_bias(self, features: torch.Tensor, region_mask: torch.Tensor | None = None) -> torch.Tensor:
        """b_v, (B, H), from the whole image's feature (B, 1280), or from an image's rows (B, R, 1280) (row 0 the
        whole image, then its regions; `region_mask` (B, R) marks the real ones). With cfg.region_pool,
        b_v = W_hi x_0 + W_hr max_i x_i (x the standardised features, the max element-wise over the real rows):
        the paper's b_v = W_hi CNN(I) plus the detected regions, which our small whole-image feature blurs."""
        if features.dim() == 2:
            features = features[:, None]
        x = (features - self.feature_mean) / self.feature_std
        b_v = self.W_hi(x[:, 0])
        if self.W_hr is not None:
            if region_mask is not None:
                x = x.masked_fill(~region_mask.bool()[..., None], torch.finfo(x.dtype).min)
            b_v = b_v + self.W_hr(x.max(1).values)
        return b_v

    def step(self, word: torch.Tensor, h: torch.Tensor, b_v: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: word ids (B,), h_{t-1} (B, H), b_v at t = 1 (every t with every_step) else None ->
        (logits (B, V), h_t)."""
        pre = self.W_hx(self.W_x(word)) + self.W_hh(h)
        h = F.relu(pre + b_v if b_v is not None else pre)
        return self.W_oh(h), h

    def forward(self, image_feature: torch.Tensor, words: torch.Tensor,
                region_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher forcing: image (B, 1280) or (B, R, 1280) with `region_mask` (see image_bias), words (B, T) (the
        sentence, padded with 0) -> logits (B, T+1, V) of the words 1..T and then END."""
        B, T = words.shape
        b_v = self.image_bias(image_feature, region_mask)
        inputs = torch.cat([words.new_zeros(B, 1), words], 1)  # START, w_1 … w_T
        h = b_v.new_zeros(B, b_v.shape[1])
        logits = []
        for t in range(T + 1):
            out, h = self.step(inputs[:, t], h, b_v if t == 0 or self.every_step else None)
            logits.append(out)
        return torch.stack(logits, 1)


def generation_loss(logits: torch.Tensor, words: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Summed negative log-likelihood of each sentence's words and its END token (targets after the last word are
    padding and do not count). logits (B, T+1, V), words (B, T), lengths (B,)."""
    B, T = words.shape
    targets = torch.cat([words, words.new_zeros(B, 1)], 1)  # w_1 … w_T, then END (0) at position length
    keep = torch.arange(T + 1, device=words.device)[None] <= lengths[:, None]  # (B, T+1)
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    return (nll.view(B, T + 1) * keep).sum()


@torch.no_grad()
def beam_search(rnn: MultimodalRNN, image_feature: torch.Tensor, beam: int = 7, max_len: int = 16,
                k: int = 3) -> list[tuple[list[int], float]]:
    """The `k` most probable sentences (word ids, total log-probability) for one image, (1280,) or its rows
    (R, 1280), by beam search (the paper's code keeps the beam's best; we return the k best finished sentences with
    their scores)."""
    b_v = rnn.image_bias(image_feature[None])  # (1, H)
    beams = [([], 0.0, b_v.new_zeros(1, b_v.shape[1]))]
    finished: list[tuple[list[int], float]] = []
    for t in range(max_len + 1):
        words = torch.tensor([b[0][-1] if b[0] else 0 for b in beams])
        h = torch.cat([b[2] for b in beams])
        logits, h = rnn.step(words, h, b_v.expand(len(beams), -1) if t == 0 or rnn.every_step else None)
        logp = F.log_softmax(logits, -1)  # (n, V)
        candidates = []
        for n, (seq, score, _) in enumerate(beams):
            top = logp[n].topk(min(beam, logp.shape[1]))
            for lp, w in zip(top.values.tolist(), top.indices.tolist(), strict=True):
                candidates.append((seq + [w], score + lp, n))
        candidates.sort(key=lambda c: -c[1])
        beams = []
        for seq, score, n in candidates:
            if seq[-1] == 0 or t == max_len:
                if len(seq) > 1 and seq[:-1] not in [f[0] for f in finished]:
                    finished.append((seq[:-1] if seq[-1] == 0 else seq, score))
            elif len(beams) < beam:
                beams.append((seq, score, h[n:n + 1]))
        if not beams or (len(finished) >= k and max(b[1] for b in beams) < sorted(f[1] for f in finished)[-k]):
            break
    finished.sort(key=lambda f: -f[1])
    return finished[:k]


# --------------------------------------------------------------------------------- both, saved together


class CaptionModel(nn.Module):
    """The alignment model and the m-RNN with their vocabulary: what a checkpoint holds."""

    def __init__(self, cfg: ModelConfig, vocab: Vocabulary):
        super().__init__()
        self.cfg, self.vocab = cfg, vocab
        self.align = AlignmentModel(cfg)
        self.rnn = MultimodalRNN(cfg)

    def set_feature_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        for module in (self.align.image, self.rnn):
            module.feature_mean.copy_(mean)
            module.feature_std.copy_(std.clamp_min(1e-3))

    def forward(self, features, region_mask, words, word_mask):
        """The two training losses at once (they share nothing; one forward keeps DDP's gradient sync simple):
        S (K, L) for eq. 9 and the m-RNN's logits for the whole image (row 0)."""
        S = self.align(features, region_mask, words, word_mask)
        logits = self.rnn(features, words, region_mask)
        return S, logits

    def captions(self, image_feature: torch.Tensor, k: int = 3, beam: int = 7) -> list[tuple[str, float]]:
        """k sentences with their log-probabilities; image_feature: (R, 1280), the whole image and its regions
        (or (1280,), the whole image only)."""
        return [(" ".join(self.vocab.decode(ids)), score)
                for ids, score in beam_search(self.rnn, image_feature, beam=beam, k=k)]

    def encode_sentence(self, tokens: list[str]) -> tuple[torch.Tensor, list[str]]:
        """s_t for each known word (unknown words are dropped: they carry no learned meaning) -> (T, h), words."""
        known = [w for w in tokens if w in self.vocab.index]
        if not known:
            return torch.zeros(0, self.cfg.embed), []
        ids = torch.tensor([self.vocab.encode(known)])
        with torch.no_grad():
            return self.align.sentence(ids, torch.ones_like(ids))[0], known

    def embed_regions(self, features: torch.Tensor) -> torch.Tensor:  # (R, 1280) -> (R, h)
        with torch.no_grad():
            return self.align.image(features[None])[0]


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save(model: CaptionModel, path: str | Path, meta: dict) -> Path:
    return checkpoint.export_half(path, model.state_dict(),
                                  {"model": model.cfg.to_dict(), "vocab": model.vocab.words}, meta)


def load(path: str | Path) -> CaptionModel:
    """A checkpoint written by `save` (or `deepgallery train caption`): safetensors + JSON, no pickles."""
    tensors, config, _ = checkpoint.load(path, how_to_fix="give a checkpoint written by `deepgallery train caption`")
    if "model" not in config or "vocab" not in config:
        from ...core.errors import UserError

        raise UserError(f"{path}: not a caption checkpoint (its JSON has no model/vocab)")
    model = CaptionModel(ModelConfig(**config["model"]), Vocabulary(config["vocab"]))
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    return model.eval()


def load_shipped(name: str = "photos") -> CaptionModel:
    from . import APP

    return load(APP.checkpoint(name))
