"""caption: Karpathy & Fei-Fei 2015. The alignment score and ranking loss as the paper writes them, the BRNN's
independence from padding, the m-RNN's image-at-the-first-step and beam search, BLEU/CIDEr-D against hand-computed
values, Karpathy's split files (COCO and Flickr layouts) on tiny fixtures, training that learns, resumes and takes
the same step on two gloo processes as on one, the pseudo-caption writer, the shipped model on held-out photos,
and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from deepgallery.apps.caption.data import Vocabulary, read_karpathy, tokenize
from deepgallery.apps.caption.features import EncodedImage, save_cache
from deepgallery.apps.caption.model import (
    AlignmentModel,
    CaptionModel,
    ModelConfig,
    beam_search,
    generation_loss,
    ranking_loss,
)
from deepgallery.core.errors import UserError

EXAMPLES = Path(__file__).resolve().parents[1] / "deepgallery" / "apps" / "caption" / "examples"


def tiny_model(vocab_words=("<end>", "<unk>", "a", "dog", "cat", "on", "grass"), seed=0) -> CaptionModel:
    torch.manual_seed(seed)
    cfg = ModelConfig(feature_dim=12, embed=8, word_dim=6, hidden=10, vocab=len(vocab_words))
    return CaptionModel(cfg, Vocabulary(list(vocab_words))).eval()


# ------------------------------------------------------------------------------------------- Section 3.1


def test_image_sentence_score_is_the_sum_over_words_of_the_best_region():
    """Eq. 8: S_kl = Σ_t max_i v_i·s_t, with padded regions and words ignored."""
    g = torch.Generator().manual_seed(0)
    v = torch.randn(3, 4, 5, generator=g)  # 3 images, 4 regions
    s = torch.randn(2, 6, 5, generator=g)  # 2 sentences, 6 words
    rmask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    wmask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=torch.bool)
    S = AlignmentModel.image_sentence_scores(AlignmentModel.region_word_scores(v, s), rmask, wmask)
    for k in range(3):
        for ell in range(2):
            want = sum(max(float(v[k, i] @ s[ell, t]) for i in range(4) if rmask[k, i])
                       for t in range(6) if wmask[ell, t])
            assert S[k, ell].item() == pytest.approx(want, abs=1e-5)


def test_ranking_loss_is_zero_only_when_true_pairs_win_by_the_margin():
    """Eq. 9 in both directions: a sentence that scores higher with another image costs, as does an image that
    scores higher with another sentence."""
    good = torch.tensor([[5.0, 1.0], [0.0, 4.0]])
    assert ranking_loss(good).item() == 0
    # S_01 = 4.5 > S_00 - 1: sentence 1 nearly beats image 0's own (cost 0.5), and for sentence 1 image 0 beats
    # image 1's own score by 0.5 (cost 1.5)
    bad = torch.tensor([[5.0, 4.5], [0.0, 4.0]])
    assert ranking_loss(bad).item() == pytest.approx(0.5 + 1.5)


def test_brnn_word_vectors_do_not_depend_on_padding():
    """The backward RNN starts at each sentence's own last word, so padding a sentence changes none of its s_t."""
    model = tiny_model()
    words = torch.tensor([[2, 3, 5, 6]])
    alone = model.align.sentence(words, torch.ones_like(words, dtype=torch.bool))
    padded = torch.tensor([[2, 3, 5, 6, 0, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0, 0]], dtype=torch.bool)
    s = model.align.sentence(padded, mask)
    torch.testing.assert_close(s[:, :4], alone)
    assert s[:, 4:].abs().max() == 0
    # and the context is bidirectional: changing the last word changes the first word's vector
    other = model.align.sentence(torch.tensor([[2, 3, 5, 4]]), torch.ones(1, 4, dtype=torch.bool))
    assert (other[0, 0] - alone[0, 0]).abs().max() > 0


# ------------------------------------------------------------------------------------------- Section 3.2


def test_the_image_biases_only_the_first_step():
    """Eq. 11: 𝟙(t = 1) ⊙ b_v — two images give different first hidden states, then the same recurrence."""
    model = tiny_model()
    rnn = model.rnn
    h0 = torch.zeros(1, 10)
    img_a, img_b = torch.randn(1, 12), torch.randn(1, 12)
    _, ha = rnn.step(torch.tensor([0]), h0, rnn.image_bias(img_a))
    _, hb = rnn.step(torch.tensor([0]), h0, rnn.image_bias(img_b))
    assert (ha - hb).abs().max() > 0
    # teacher forcing over a sentence equals stepping by hand with the bias at t = 1 only
    words = torch.tensor([[2, 3, 5]])
    logits = rnn(img_a, words)
    h, by_hand = h0, []
    for t, w in enumerate([0, 2, 3, 5]):
        out, h = rnn.step(torch.tensor([w]), h, rnn.image_bias(img_a) if t == 0 else None)
        by_hand.append(out)
    torch.testing.assert_close(logits, torch.stack(by_hand, 1))


def test_with_image_every_step_the_image_biases_every_step_in_training_and_in_beam_search():
    """The --image-every-step variant (not the paper's eq. 11): b_v is added at every t. With the recurrence cut
    (W_hh = 0), a later step sees the image only through that bias: the paper's model then predicts the same word
    distribution at t >= 2 for any image, the variant does not."""
    model = tiny_model()
    with torch.no_grad():
        model.rnn.W_hh.weight.zero_()
    words = torch.tensor([[2, 3, 5]])
    img_a, img_b = torch.randn(1, 12), torch.randn(1, 12)
    for every_step in (False, True):
        model.rnn.every_step = every_step
        a, b = model.rnn(img_a, words), model.rnn(img_b, words)  # (1, T + 1, V)
        assert (a[:, 0] - b[:, 0]).abs().max() > 1e-4
        assert bool((a[:, 1:] - b[:, 1:]).abs().max() > 1e-4) is every_step
        # beam search feeds the bias the same way: a finished sentence's score is its teacher-forced log p
        finished = [(ids, s) for ids, s in beam_search(model.rnn, img_a[0], beam=5, max_len=6, k=5) if len(ids) < 6]
        assert finished
        for ids, score in finished:
            sentence = torch.tensor([ids])
            nll = generation_loss(model.rnn(img_a, sentence), sentence, torch.tensor([len(ids)]))
            assert -nll.item() == pytest.approx(score, abs=1e-4)


def test_beam_search_scores_are_the_models_log_probabilities_best_first():
    model = tiny_model()
    image = torch.randn(12)
    found = beam_search(model.rnn, image, beam=5, max_len=6, k=3)
    assert len(found) == 3 and [s for _, s in found] == sorted((s for _, s in found), reverse=True)
    for ids, score in found:
        words = torch.tensor([ids])
        logits = model.rnn(image[None], words)
        nll = generation_loss(logits, words, torch.tensor([len(ids)])) if len(ids) < 6 else None
        if nll is not None:  # finished with END: its log-probability includes END
            assert -nll.item() == pytest.approx(score, abs=1e-4)
    # greedy decoding is beam search of width 1
    greedy = beam_search(model.rnn, image, beam=1, max_len=6, k=1)[0]
    assert found[0][1] >= greedy[1] - 1e-6


def test_reranking_picks_the_sentence_the_alignment_prefers_and_weight_zero_keeps_the_beam_order(monkeypatch):
    from deepgallery.apps.caption import pipeline

    model = tiny_model()
    torch.manual_seed(1)
    enc = EncodedImage(np.zeros((2, 4), np.float32), ["image", "dog"], np.array([1.0, 0.9], np.float32),
                       torch.randn(2, 12).numpy(), 100, 100)
    beam = pipeline.caption(model, enc, k=5, beam=5, rerank_by="none")
    assert len(beam) == 5 and len({t for t, _ in beam}) == 5
    liked = beam[-1][0]  # the beam's least probable sentence
    seen = []

    def stub_scores(m, encoded, sentences):  # the alignment "prefers" `liked`: S 100 for it, 0 for the rest
        seen.append([" ".join(s) for s in sentences])
        return np.array([[100.0 if " ".join(s) == liked else 0.0] for s in sentences])

    monkeypatch.setattr(pipeline, "ranking_scores", stub_scores)
    picked = pipeline.caption(model, enc, k=3, beam=5, rerank_by="align", weight=1.0)
    assert picked[0] == beam[-1] and seen[-1] == [t for t, _ in beam]  # it scored the whole beam, kept log p
    assert picked[1:] == beam[:2]
    # λ = 0: the m-RNN's own order; a small λ cannot overturn a large log-probability gap
    assert pipeline.caption(model, enc, k=5, beam=5, rerank_by="align", weight=0.0) == beam
    gap = beam[0][1] - beam[-1][1]
    if gap > 0:
        assert pipeline.caption(model, enc, k=1, beam=5, rerank_by="align", weight=0.5 * gap / 100)[0] == beam[0]
    assert pipeline.rerank([("a", -1.0), ("b", -2.0)], [0.0, 3.0], 0.5) == [("b", -2.0), ("a", -1.0)]
    assert pipeline.rerank([("a", -1.0), ("b", -2.0)], [0.0, 1.0], 0.5) == [("a", -1.0), ("b", -2.0)]
    with pytest.raises(UserError, match="unknown reranking"):
        pipeline.caption(model, enc, rerank_by="bleu")


# -------------------------------------------------------------------------------------------- metrics


def test_bleu_and_cider_against_hand_computed_values():
    from deepgallery.apps.caption.metrics import caption_scores, recall_at_k

    same = caption_scores([["the cat is on the mat"]], ["the cat is on the mat"])
    assert same["bleu1"] == pytest.approx(1.0) and same["bleu4"] == pytest.approx(1.0)
    # Papineni et al.'s clipped precision: "the cat the cat on the mat" has 7 words; clipped counts
    # the 2 (ref has 2), cat 1, on 1, mat 1 -> 5/7; 7 words > 6 reference words -> no brevity penalty
    clipped = caption_scores([["the cat is on the mat"]], ["the cat the cat on the mat"])
    assert clipped["bleu1"] == pytest.approx(5 / 7, abs=1e-6)
    # BLEU-2: bigrams of the candidate: the cat, cat the, the cat, cat on, on the, the mat -> matches: the cat (1
    # clipped), cat on? no ("cat is"), on the, the mat -> 3/6; BLEU-2 = sqrt(5/7 * 3/6)
    assert clipped["bleu2"] == pytest.approx((5 / 7 * 3 / 6) ** 0.5, abs=1e-6)
    # CIDEr-D: a candidate identical to every reference of every image scores 10 × (Gaussian penalty 1) on each
    # n-gram order where its tf-idf vector is non-zero; with two images sharing no words, all 4 orders are
    refs = [["a dog runs on grass"] * 2, ["two red cars parked outside"] * 2]
    assert caption_scores(refs, [r[0] for r in refs])["cider"] == pytest.approx(10.0, abs=1e-6)
    assert caption_scores(refs, ["a dog runs on grass", "a dog runs on grass"])["cider"] < 5.5
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.8]])
    assert recall_at_k(scores, np.array([0, 1]), 1) == 0.5  # query 0's item is first, query 1's second
    assert recall_at_k(scores, np.array([0, 1]), 2) == 1.0


# ----------------------------------------------------------------------------------------- Karpathy data


def _fixture(root: Path, n: int = 6, layout: str = "coco") -> Path:
    """A dataset_coco.json (images in IMAGES/filepath/filename, a restval split) or dataset_flickr8k.json
    (IMAGES/filename) with n tiny JPEGs."""
    from PIL import Image

    images = []
    rng = np.random.default_rng(0)
    for i in range(n):
        sub = ("val2014" if i % 2 else "train2014") if layout == "coco" else ""
        name = f"COCO_{sub}_{i:012d}.jpg" if layout == "coco" else f"{1000 + i}_abc.jpg"
        (root / "images" / sub).mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(root / "images" / sub / name)
        colour = ("red", "blue")[i % 2]
        rec = {"filename": name, "imgid": i, "split": ("train", "restval", "val", "test")[min(i, 3)] if i < 4
               else "train", "sentences": [{"tokens": ["a", colour, "square"], "raw": f"A {colour} square."},
                                           {"raw": f"The {colour} thing!"}]}
        if layout == "coco":
            rec["filepath"] = sub
        images.append(rec)
    path = root / f"dataset_{'coco' if layout == 'coco' else 'flickr8k'}.json"
    path.write_text(json.dumps({"dataset": layout, "images": images}))
    return path


@pytest.mark.parametrize("layout", ["coco", "flickr8k"])
def test_karpathy_split_files_read_in_both_layouts(tmp_path, layout):
    path = _fixture(tmp_path, layout=layout)
    train = read_karpathy(path, tmp_path / "images", ("train",))
    assert len(train) == 4  # "train" and "restval" (the paper's COCO training set), images 0, 1, 4, 5
    assert all(im.path.is_file() for im in train)
    assert train[0].sentences[0] == ["a", "red", "square"] and train[0].sentences[1] == ["the", "red", "thing"]
    assert [im.split for im in read_karpathy(path, tmp_path / "images", ("test",))] == ["test"]
    assert tokenize("A dog's ball, on GRASS.") == ["a", "dog's", "ball", "on", "grass"]


def test_karpathy_files_in_a_wrong_layout_are_one_clear_error(tmp_path):
    (tmp_path / "images").mkdir()
    bad = tmp_path / "x.json"
    for content, needle in [("{\"annotations\": []}", "not a Karpathy split file"),
                            ("[1, 2]", "not a Karpathy split file"), ("not json", "not a JSON file"),
                            (json.dumps({"images": [{"file": "a.jpg"}]}), "lacks 'filename'")]:
        bad.write_text(content)
        with pytest.raises(UserError, match=needle):
            read_karpathy(bad, tmp_path / "images")
    good = _fixture(tmp_path / "other")
    with pytest.raises(UserError, match="none of the"):
        read_karpathy(good, tmp_path / "images")  # the images are elsewhere


# ------------------------------------------------------------------------------------------- training


def _features_fixture(root: Path, n: int = 24) -> tuple[Path, Path]:
    """A Karpathy file of n images whose features are given (a cache), so training needs no detector: two kinds
    of image (feature direction) with sentences that say which."""
    from PIL import Image

    rng = np.random.default_rng(1)
    (root / "images").mkdir(parents=True)
    images, encoded = [], {}
    base = rng.normal(size=(2, 16)).astype(np.float32) * 2
    for i in range(n):
        kind = i % 2
        name = f"{i}.jpg"
        Image.new("RGB", (8, 8)).save(root / "images" / name)
        words = (["a", "dog", "on", "grass"], ["two", "cats", "inside"])[kind]
        images.append({"filename": name, "split": "train", "sentences": [{"tokens": words}, {"tokens": words[::-1]}]})
        feats = base[kind][None] + rng.normal(size=(3, 16)).astype(np.float32) * 0.5
        encoded[name] = EncodedImage(np.zeros((3, 4), np.float32), ["image", "dog", "cat"], np.ones(3, np.float32),
                                     feats, 8, 8)
    path = root / "dataset.json"
    path.write_text(json.dumps({"images": images}))
    save_cache(root / "features.npz", encoded)
    return path, root / "features.npz"


TINY = ("--embed", 8, "--word-dim", 8, "--hidden", 12, "--min-count", 1, "--batch", 8, "--max-regions", 2)


def test_training_learns_to_rank_and_to_describe(tmp_path, one_torch_thread):
    from deepgallery.apps.caption.pipeline import ranking_scores
    from deepgallery.apps.caption.train import TrainConfig, train

    data, cache = _features_fixture(tmp_path)
    cfg = TrainConfig(epochs=40, batch=8, embed=8, word_dim=6, hidden=12, min_count=1, max_regions=2, lr=1e-2)
    result = train(tmp_path / "run", cfg, data, tmp_path / "images", cache, log=lambda *_: None)
    first, last = np.mean(result.losses[:3], 0), np.mean(result.losses[-3:], 0)
    # images of one kind share their sentences, so a same-kind pair always costs the margin: the ranking loss cannot
    # fall below 2 × 3 per image in a batch of 8 (4 of each kind); it must get near that floor
    assert last[0] < 0.75 * first[0] and last[0] < 8 and last[1] < 0.5 * first[1]
    from deepgallery.apps.caption.features import load_cache

    enc = [load_cache(cache)[f"{i}.jpg"] for i in range(4)]
    S = ranking_scores(result.model, enc, [["a", "dog", "on", "grass"], ["two", "cats", "inside"]])  # (2, 4)
    assert S[0, 0] > S[0, 1] and S[0, 2] > S[0, 3] and S[1, 1] > S[1, 0]
    from deepgallery.apps.caption.pipeline import caption as caption_of

    caption = caption_of(result.model, enc[1], k=1)[0][0]
    assert "cats" in caption


def test_feature_dropout_hides_cnn_values_but_never_the_class_scores():
    from deepgallery.apps.caption.train import drop_cnn_features

    torch.manual_seed(0)
    feats = torch.randn(64, 10, 300) * 2 + 5  # 220 CNN columns + 80 class-score columns
    mean = feats.reshape(-1, 300).mean(0)
    assert drop_cnn_features(feats, mean, 0.0, 80) is feats
    out = drop_cnn_features(feats, mean, 0.5, 80)
    assert torch.equal(out[..., 220:], feats[..., 220:])
    dropped = torch.isclose(out[..., :220], mean[:220].expand_as(out[..., :220]))
    assert 0.45 < dropped.float().mean() < 0.55
    kept = ~dropped
    assert torch.allclose((out[..., :220] - mean[:220])[kept], 2 * (feats[..., :220] - mean[:220])[kept], atol=1e-4)
    assert torch.allclose(out[..., :220].mean((0, 1)), feats[..., :220].mean((0, 1)), atol=0.3)  # unbiased


def test_training_resumes_where_it_stopped(tmp_path, run_cli, one_torch_thread):
    from deepgallery.core import checkpoint

    data, cache = _features_fixture(tmp_path)
    common = ("train", "caption", "--data", "karpathy", data, "--images", tmp_path / "images", "--features-cache",
              cache, *TINY)
    code, _, err = run_cli(*common, "--epochs", 2, "--out", tmp_path / "run")
    assert code == 0, err
    assert checkpoint.load(tmp_path / "run" / "state")[2]["step"] == 6
    code, _, err = run_cli(*common, "--epochs", 4, "--out", tmp_path / "run", "--export", tmp_path / "m")
    assert code == 0, err
    assert checkpoint.load(tmp_path / "run" / "state")[2]["step"] == 12
    meta = checkpoint.load(tmp_path / "m")[2]
    assert meta["steps"] == 12 and "train caption" in meta["command"]


@pytest.mark.slow
def test_two_gloo_processes_take_the_step_of_one(tmp_path, run_cli, torchrun_cli, one_torch_thread):
    """Each process embeds half the batch and sees the other half's embeddings: the ranking loss is over the whole
    global batch, so two processes train exactly the model one process trains."""
    from deepgallery.core import checkpoint

    data, cache = _features_fixture(tmp_path)
    common = ("train", "caption", "--data", "karpathy", data, "--images", tmp_path / "images", "--features-cache",
              cache, *TINY, "--epochs", 2, "--no-class-scores")
    # (without class scores: on this fixture region 1 is always a "dog" of score 1, so its class-score column of W_m
    # acts as a per-region constant like b_m below, whose float-noise gradient Adam scales up)
    code, _, err = run_cli(*common, "--out", tmp_path / "one")
    assert code == 0, err
    proc = torchrun_cli(2, *common, "--out", tmp_path / "two")
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, _, meta_one = checkpoint.load(tmp_path / "one" / "state")
    two, _, meta_two = checkpoint.load(tmp_path / "two" / "state")
    assert meta_one["step"] == meta_two["step"] == 6
    for key in one:
        if key == "align.image.W_m.bias":
            # b_m of eq. 1 adds b_m·Σ_t s_t to S_kl for every region alike; on this fixture its gradient is float
            # noise (~1e-6 beside ~40 for W_m), which Adam scales up to a step of up to lr: 6 steps of lr 1e-3
            assert (two[key] - one[key]).abs().max() <= 6 * 1e-3 * 1.01
            continue
        torch.testing.assert_close(two[key], one[key], rtol=1e-4, atol=1e-5, msg=key)


# ------------------------------------------------------------------------------------------ pseudo-captions


def test_pseudo_captions_count_place_and_relate_the_detected_objects():
    from deepgallery.apps.caption.pseudo import describe, plural

    assert [plural(w) for w in ("person", "bus", "dog", "sheep", "knife")] == ["people", "buses", "dogs", "sheep",
                                                                             "knives"]
    rgb = np.zeros((100, 200, 3), np.uint8)
    rgb[70:] = (40, 160, 40)  # grass at the bottom
    boxes = [[0, 0, 200, 100], [10, 40, 50, 90], [60, 40, 90, 90], [150, 30, 195, 95]]
    enc = EncodedImage(np.array(boxes, np.float32), ["image", "dog", "dog", "car"],
                       np.array([1, 0.8, 0.7, 0.9], np.float32), np.zeros((4, 4), np.float32), 200, 100,
                       [("tabby", 0.1)])
    said = describe(enc, rgb, np.random.default_rng(0), count=5)
    assert len(said) == 5 and len(set(said)) == 5
    every = set(describe(enc, rgb, np.random.default_rng(0), count=30))
    text = " | ".join(every)
    assert "cat" not in text and "three" not in text  # nothing the detector did not see
    # the car (the largest box) is the subject, to the right of the two dogs, and there is grass below
    assert "a photo of a car to the right of two dogs" in every
    assert "a car to the right of two dogs on the grass" in every
    nothing = EncodedImage(np.array([[0, 0, 200, 100]], np.float32), ["image"], np.ones(1, np.float32),
                           np.zeros((1, 4), np.float32), 200, 100, [("daisy", 0.9)])
    assert any("daisy" in s for s in describe(nothing, rgb, np.random.default_rng(0)))


# --------------------------------------------------------------------------------------- the shipped model


def test_the_shipped_model_says_something_true_about_held_out_photos(tmp_path):
    """The example photos come from the photo corpus's held-out split (darknet's and OpenCV's samples): never trained
    on. A robin is "a bird"; in a street scene with two people, a person is among the three captions; and the
    alignment figure is written. dog.jpg's best caption names the dog (it never names the bicycle: no photo of one
    was trained on)."""
    from deepgallery.apps.caption.entry import describe as run_describe
    from deepgallery.apps.caption.features import encode
    from deepgallery.apps.caption.model import load_shipped
    from deepgallery.apps.caption.pipeline import caption
    from deepgallery.core.media import read_image

    model = load_shipped()
    robin = run_describe(model, read_image(EXAMPLES / "robin.jpg"), 3, 7, None, tmp_path / "robin.png")
    assert "bird" in robin["captions"][0]["caption"].split()
    assert (tmp_path / "robin.png").stat().st_size > 10_000
    dog = run_describe(model, read_image(EXAMPLES / "dog.jpg"), 3, 7, None, tmp_path / "dog.png")
    assert "dog" in dog["captions"][0]["caption"].split()
    street = run_describe(model, read_image(EXAMPLES / "street.jpg"), 3, 7, None, tmp_path / "street.png")
    assert any("person" in c["caption"].split() for c in street["captions"])
    scores = [c["log_probability"] for c in street["captions"]]
    assert scores == sorted(scores, reverse=True)
    reranked = run_describe(model, read_image(EXAMPLES / "street.jpg"), 3, 7, None, tmp_path / "s.png", "align")
    assert "reranked" in reranked["result"] and {c["caption"] for c in reranked["captions"]} <= {
        t for t, _ in caption(model, encode(read_image(EXAMPLES / "street.jpg")), k=7, beam=7)}


def test_search_ranks_the_photo_with_the_named_object_first(tmp_path, run_cli):
    import shutil

    for p in EXAMPLES.glob("*.jpg"):
        shutil.copy(p, tmp_path / p.name)
    (tmp_path / "notes.jpg").write_text("not an image")
    code, out, err = run_cli("run", "caption", tmp_path, "--search", "a person", "-o", tmp_path / "r.csv")
    assert code == 0, err
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert len(rows) == 1 + len(list(EXAMPLES.glob("*.jpg"))) and "skipped" in err
    # the two photos with people (the street, the kite beach) above the robin and the dog with a bicycle
    assert {Path(row.split(",")[1]).name for row in rows[1:3]} == {"street.jpg", "kite.jpg"}
    code, out, err = run_cli("run", "caption", tmp_path, "--search", "a dog", "-o", tmp_path / "r.csv")
    assert code == 0, err
    assert (tmp_path / "r.csv").read_text().splitlines()[1].split(",")[1].endswith("dog.jpg")
    code, _, err = run_cli("run", "caption", tmp_path, "--search", "xylophone quokka", "-o", tmp_path / "r.html")
    assert code == 2 and "none of the words" in err


# ------------------------------------------------------------------------------------------------ bad input


def test_bad_input_is_one_line_and_exit_2(bad_input, tmp_path):
    bad_input("caption", ["{bad}", "-o", "{out}.png"], "not a readable image")
    bad_input("caption", ["{empty}"], "file is empty")
    empty = bad_input.dir / "emptydir"
    empty.mkdir()
    bad_input("caption", [empty, "--search", "a dog", "-o", "{out}.html"], "no images in it")
    bad_input("caption", ["{ok}", "-o", "{out}.gif"], "ending in .png")
    bad_input("caption", [empty, "--search", "", "-o", "{out}.csv"], "no images in it")
    (bad_input.dir / "wrong.json").write_text(json.dumps({"annotations": []}))
    bad_input("caption", ["--data", "karpathy", bad_input.dir / "wrong.json", "--images", empty,
                          "--out", "{out}"], "not a Karpathy split file", verb="train")
    bad_input("caption", ["--data", "coco", bad_input.dir / "wrong.json", "--images", empty, "--out", "{out}"],
              "unknown dataset format", verb="train")


# ------------------------------------------------------------------------ MRF snippets, region pooling, truth


def test_mrf_alignment_is_the_best_chain_and_spans_argmax_to_one_region():
    """Eq. 10-11 by dynamic programming equals brute force over every assignment; β = 0 is each word's argmax and a
    large β puts the whole sentence on one region."""
    import itertools

    from deepgallery.apps.caption.model import mrf_alignment, snippets

    g = torch.Generator().manual_seed(3)
    dots = torch.randn(3, 5, generator=g)

    def energy(a, beta):
        return sum(float(dots[r, t]) for t, r in enumerate(a)) + beta * sum(a[t] == a[t + 1] for t in range(4))

    for beta in (0.0, 0.7, 2.0, 50.0):
        best = max(itertools.product(range(3), repeat=5), key=lambda a: energy(a, beta))
        assert energy(mrf_alignment(dots, beta), beta) == pytest.approx(energy(best, beta), abs=1e-5)
    assert mrf_alignment(dots, 0.0) == dots.argmax(0).tolist()
    assert len(set(mrf_alignment(dots, 50.0))) == 1
    # runs of words on a detected region (not region 0, the whole image) of at least two words
    words = ["a", "dog", "on", "the", "grass", "here"]
    assert snippets(words, [1, 1, 0, 2, 2, 2]) == [(1, ["a", "dog"]), (2, ["the", "grass", "here"])]
    assert snippets(words, [0, 0, 0, 3, 0, 0]) == []


def test_identical_sentences_are_not_false_pairs_in_the_ranking_loss():
    S = torch.tensor([[5.0, 4.5], [0.0, 4.0]])
    assert ranking_loss(S, same=torch.ones(2, 2, dtype=torch.bool)).item() == 0
    assert ranking_loss(S, same=torch.eye(2, dtype=torch.bool)).item() == pytest.approx(ranking_loss(S).item())


def test_the_region_pooled_image_vector_sees_the_regions_and_ignores_padding():
    torch.manual_seed(0)
    cfg = ModelConfig(feature_dim=12, embed=8, word_dim=6, hidden=10, vocab=5, region_pool=True)
    rnn = CaptionModel(cfg, Vocabulary(["<end>", "<unk>", "a", "dog", "cat"])).rnn
    whole, dog, junk = torch.randn(12), torch.randn(12), torch.full((12,), 100.0)
    rows = torch.stack([whole, dog, junk])[None]
    with_dog = rnn.image_bias(rows, torch.tensor([[True, True, False]]))
    torch.testing.assert_close(with_dog, rnn.image_bias(rows[:, :2]))  # the padded row changes nothing
    assert (with_dog - rnn.image_bias(rows[:, :1])).abs().max() > 1e-3  # the region does
    ids, _ = beam_search(rnn, rows[0, :2], k=1)[0]
    assert all(0 < i < 5 for i in ids)


def test_object_precision_counts_the_named_objects_the_evidence_confirms():
    from deepgallery.apps.caption.metrics import object_nouns, object_precision

    assert object_nouns("two dogs next to a dining table") == ["dog", "dining table"]
    assert object_nouns("an orange vase in orange colours") == ["vase"]  # the colour is not the fruit
    assert object_nouns("a daisy next to an orange", {"daisy"}) == ["daisy", "orange"]
    p, all_true, said = object_precision(["a dog and a cat", "a picture in green colours", "a person"],
                                         [{"dog"}, set(), {"car"}])
    assert (p, all_true, said) == (pytest.approx(1 / 3), 0.0, 3)
    assert object_precision(["a bird"], [{"bird"}])[:2] == (1.0, 1.0)


def test_the_first_pseudo_caption_is_the_detailed_one():
    from deepgallery.apps.caption.pseudo import describe

    rgb = np.full((100, 200, 3), 128, np.uint8)  # grey: no sky, no grass, not dark
    rgb[35:85, 155:190] = (220, 30, 30)  # the car is red
    boxes = [[0, 0, 200, 100], [10, 40, 50, 90], [60, 40, 90, 90], [150, 30, 195, 95]]
    enc = EncodedImage(np.array(boxes, np.float32), ["image", "dog", "dog", "car"],
                       np.array([1, 0.8, 0.7, 0.9], np.float32), np.zeros((4, 4), np.float32), 200, 100, [])
    for seed in range(3):
        assert describe(enc, rgb, np.random.default_rng(seed))[0] == "a red car to the right of two dogs"


# ------------------------------------------------------------------ more real photos (sources.py, the data tool)


def _rcc(files: dict[str, tuple[bytes, bool]]) -> bytes:
    """A Qt resource file (format 2) holding one folder "pics" with `files` ({name: (bytes, zlib-compressed)})."""
    import struct
    import zlib

    names, data, name_at, nodes = b"", b"", {}, []
    for name in ["pics", *files]:
        name_at[name] = len(names)
        names += struct.pack(">HI", len(name), 0) + name.encode("utf-16-be")
    nodes.append(struct.pack(">IHII", 0, 2, 1, 1))  # root: a folder with one child, node 1
    nodes.append(struct.pack(">IHII", name_at["pics"], 2, len(files), 2))  # pics: children from node 2
    for name, (body, packed) in files.items():
        stored = struct.pack(">I", len(body)) + zlib.compress(body) if packed else body
        nodes.append(struct.pack(">IHHHI", name_at[name], 1 if packed else 0, 0, 0, len(data)))
        data += struct.pack(">I", len(stored)) + stored
    tree = b"".join(n + bytes(8) for n in nodes)  # format 2: each node ends with an 8-byte modification time
    header = 20
    return b"qres" + struct.pack(">IIII", 2, header, header + len(tree), header + len(tree) + len(data)) + tree + \
        data + names


def test_qt_resource_files_are_read_as_the_files_they_hold(tmp_path):
    from deepgallery.apps.caption.sources import read_rcc

    path = tmp_path / "a.rcc"
    path.write_bytes(_rcc({"horse.webp": (b"\x01\x02raw bytes", False), "notes.txt": (b"squeezed " * 20, True)}))
    assert read_rcc(path) == {"pics/horse.webp": b"\x01\x02raw bytes", "pics/notes.txt": b"squeezed " * 20}
    (tmp_path / "b.rcc").write_bytes(b"PK\x03\x04 not qt")
    with pytest.raises(UserError, match="not a Qt resource"):
        read_rcc(tmp_path / "b.rcc")


def test_photo_stamps_are_cut_to_the_object_and_pasted_where_the_sentence_says():
    """A stamp's transparent margin is cut off; pasted through its alpha, it changes exactly the pixels inside the
    box the composite reports (the box its sentence is written from), and the label comes from the stamp list."""
    import tempfile

    from PIL import Image

    from deepgallery.apps.caption.sources import composite, stamp_cutouts

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rgba = np.zeros((60, 80, 4), np.uint8)
        yy, xx = np.mgrid[:60, :80]
        rgba[((yy - 29.5) / 20) ** 2 + ((xx - 44.5) / 25) ** 2 <= 1] = (150, 90, 40, 255)  # a 40 x 50 ellipse
        (root / "animals").mkdir()
        Image.fromarray(rgba).save(root / "animals" / "horse.png")
        Image.fromarray(rgba).save(root / "animals" / "cartoon_horse.png")  # not in the list: a drawing, left out
        cuts = stamp_cutouts(root, {"animals/horse": "horse", "animals/missing": "cow"})
    assert [(c.label, c.rgba.shape) for c in cuts] == [("horse", (40, 50, 4))]
    background = np.full((320, 320, 3), 30, np.uint8)
    for seed in range(5):
        canvas, boxes, labels = composite([], background, np.random.default_rng(seed), [("horse", cuts[0].rgba)], 1)
        assert labels and set(labels) == {"horse"} and len(boxes) == len(labels)
        changed = (np.abs(canvas.astype(int) - background).max(axis=2) > 60)  # more than half the horse
        inside = np.zeros_like(changed)
        for x1, y1, x2, y2 in boxes:
            assert 0 <= x1 < x2 <= 320 and 0 <= y1 < y2 <= 320
            assert x2 - x1 <= 3 * 50 and y2 - y1 <= 3 * 40  # a small stamp is not blown up past 3x
            inside[y1:y2, x1:x2] = True
        assert changed.any() and not (changed & ~inside).any()
        assert changed[inside].mean() > 0.7  # and the box is the object's, not a much larger one


def test_a_photo_known_to_show_an_object_is_said_to_show_it():
    """GCompris's "calf" photo is a cow even where the detector says "dog"; a person beside it stays a person; with
    no detection of its kind the middle of the picture is the object; the model's features are not touched."""
    from deepgallery.apps.caption.pseudo import describe
    from deepgallery.apps.caption.sources import with_label

    rgb = np.full((100, 200, 3), 128, np.uint8)
    enc = EncodedImage(np.array([[0, 0, 200, 100], [20, 10, 120, 95], [150, 20, 190, 95]], np.float32),
                       ["image", "dog", "person"], np.array([1, 0.35, 0.9], np.float32),
                       np.ones((3, 4), np.float32), 200, 100, [])
    cow = with_label(enc, "cow")
    assert cow.labels == ["image", "cow", "person"] and cow.scores[1] >= 0.5 and enc.labels[1] == "dog"
    said = " | ".join(describe(cow, rgb, np.random.default_rng(0), count=20))
    assert "cow" in said and "dog" not in said and "person" in said
    car = with_label(enc, "car")  # no vehicle detected: the middle 80 % is the car
    assert car.labels == ["image", "dog", "person", "car"]
    assert car.boxes[-1].tolist() == [20, 10, 180, 90]
    assert "car" in describe(car, rgb, np.random.default_rng(0))[0]


def test_photos_are_read_from_a_folder_an_npm_tarball_or_a_wheel(tmp_path):
    import io
    import tarfile
    import zipfile

    from PIL import Image

    from deepgallery.apps.caption.sources import folder_photos

    def jpeg(side):
        buf = io.BytesIO()
        Image.fromarray(np.full((side, side, 3), 90, np.uint8)).save(buf, "JPEG")
        return buf.getvalue()

    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "bus.jpg").write_bytes(jpeg(240))
    (tmp_path / "dir" / "icon.png").write_bytes(jpeg(32))  # too small to be a photo
    (tmp_path / "dir" / "readme.txt").write_text("no")
    with tarfile.open(tmp_path / "pkg.tgz", "w:gz") as tar:
        tar.add(tmp_path / "dir" / "bus.jpg", "package/demo/sample1.jpg")
    with zipfile.ZipFile(tmp_path / "w.whl", "w") as z:
        z.writestr("ultralytics/assets/zidane.jpg", jpeg(300))
    assert [(p.name, p.label, p.rgb.shape) for p in folder_photos(tmp_path / "dir")] == [("dir_bus", None,
                                                                                        (240, 240, 3))]
    assert [p.name for p in folder_photos(tmp_path / "pkg.tgz")] == ["pkg_sample1"]
    assert [p.origin for p in folder_photos(tmp_path / "w.whl")] == ["w.whl:ultralytics/assets/zidane.jpg"]
    with pytest.raises(UserError, match="not a folder"):
        folder_photos(tmp_path / "dir" / "readme.txt")
