"""``qwenlint tokens``: the table, the JSON document, exit codes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "media"))

from mediasynth import have_av, make_image, make_video  # noqa: E402
import pytest  # noqa: E402


def _write(tmp_path, value, name="m.json"):
    p = tmp_path / name
    p.write_text(json.dumps(value))
    return str(p)


def test_json_document(cli, tmp_path):
    make_image(str(tmp_path / "a.png"), 640, 480)
    f = _write(tmp_path, [{"role": "user", "content": [{"type": "image", "image": "a.png"},
                                                       {"type": "text", "text": "hi"}]}])
    r = cli("tokens", "--format", "json", "--max-model-len", "1000", f)
    assert r.exit_code == 0, r.output
    doc = r.doc
    part = doc["parts"][0]
    assert part["pointer"] == "/0/content/0" and part["kind"] == "image"
    assert part["grid_thw"] == [1, 34, 46] and part["resized"] == [476, 644] and part["tokens"] == 391
    conv = doc["conversations"][0]
    assert conv["vision_tokens"] == 391 and conv["budget"] == 1000 and not conv["over_budget"]
    assert conv["total_tokens"] == conv["vision_tokens"] + conv["text_tokens"]


def test_table_and_error_exit(cli, tmp_path):
    f = _write(tmp_path, [{"role": "user", "content": [{"type": "image", "image": "missing.png"}]}])
    r = cli("tokens", f)
    assert r.exit_code == 1
    assert "ERROR" in r.output and "not-found" in r.output


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
def test_seed_d_with_min_pixels_prints_real_grid(cli, tmp_path):
    make_video(str(tmp_path / "clip.mp4"), 320, 240, 24, 48)
    part = {"type": "video", "video": "clip.mp4", "max_pixels": 50176, "fps": 12.0}
    bad = _write(tmp_path, [{"role": "user", "content": [part]}], "bad.json")
    r = cli("tokens", "--family", "qwen2-vl", "--target", "qwen-vl-utils", bad)
    assert r.exit_code == 1 and "AssertionError: The max_pixels of image" in r.output
    good = _write(tmp_path, [{"role": "user", "content": [{**part, "min_pixels": 3136}]}], "good.json")
    r = cli("tokens", "--family", "qwen2-vl", "--target", "qwen-vl-utils", "--format", "json", good)
    assert r.exit_code == 0
    p = r.doc["parts"][0]
    assert p["grid_thw"] == [12, 12, 18] and p["tokens"] == 648 and p["frames"] == 24
    r = cli("tokens", "--family", "qwen2-vl", "--target", "qwen-vl-utils", good)
    assert "[12, 12, 18]" in r.output and "648" in r.output


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
def test_vllm_video_with_media_io_kwargs_and_notes(cli, tmp_path):
    """A 10 s, 30 fps clip through vLLM: 2 fps by default, 1 fps with the server's
    --media-io-kwargs; the notes say which loader sampled how many frames."""
    make_video(str(tmp_path / "clip.mp4"), 128, 96, 30, 300)
    url = (tmp_path / "clip.mp4").as_uri()
    f = _write(tmp_path, [{"role": "user", "content": [{"type": "video_url", "video_url": {"url": url}}]}])
    r = cli("tokens", "--family", "qwen2.5-vl", "--format", "json", f)
    part = r.doc["parts"][0]
    assert part["pipeline"] == "vllm" and part["frames"] == 20
    assert any("qwen2_vl video loader samples 20 of 300" in n for n in part["notes"]), part["notes"]
    r = cli("tokens", "--family", "qwen2.5-vl", "--format", "json", "--media-io-kwargs", '{"video": {"fps": 1}}', f)
    assert r.doc["parts"][0]["frames"] == 10
    r = cli("tokens", "--family", "qwen2.5-vl", "--media-io-kwargs", '{"video": {"video_backend": "opencv"}}', f)
    assert r.exit_code == 0 and "note: " in r.output and "32 frames uniformly" in r.output


@pytest.mark.skipif(not have_av(), reason="PyAV not installed")
def test_vllm_request_body_settings(cli, tmp_path):
    """A chat-completions request body's own media_io_kwargs (merged over the server's, as vLLM
    merges them) and the pixel budget of its mm_processor_kwargs."""
    make_video(str(tmp_path / "clip.mp4"), 640, 480, 30, 300)
    video = {"type": "video_url", "video_url": {"url": (tmp_path / "clip.mp4").as_uri()}}

    def part(extra, *flags):
        f = _write(tmp_path, {"model": "Qwen/Qwen2.5-VL-7B-Instruct",
                              "messages": [{"role": "user", "content": [video]}], **extra})
        r = cli("tokens", "--family", "qwen2.5-vl", "--format", "json", *flags, f)
        assert r.exit_code == 0, r.output
        return r.doc["parts"][0]

    base = part({})
    assert base["frames"] == 20 and base["grid_thw"] == [10, 34, 46]
    assert part({"media_io_kwargs": {"video": {"fps": 1}}})["frames"] == 10
    # The request's fps replaces the server's, and drops the server's num_frames.
    server = '{"video": {"video_backend": "opencv", "num_frames": 8}}'
    assert part({}, "--media-io-kwargs", server)["frames"] == 8
    assert part({"media_io_kwargs": {"video": {"fps": 1}}}, "--media-io-kwargs", server)["frames"] == 10
    small = part({"mm_processor_kwargs": {"max_pixels": 50176}})
    assert small["frames"] == 20 and small["grid_thw"] == [10, 12, 18]


def test_text_only(cli, tmp_path):
    f = _write(tmp_path, [{"role": "user", "content": "hello"}])
    r = cli("tokens", "--format", "json", f)
    assert r.exit_code == 0 and r.doc["parts"] == [] and r.doc["conversations"][0]["vision_tokens"] == 0


def _ckpt(tmp_path, processor_class):
    d = tmp_path / "ckpt"
    d.mkdir(exist_ok=True)
    (d / "config.json").write_text(json.dumps({"model_type": "qwen_unseen_vl", "image_token_id": 248056}))
    (d / "processor_config.json").write_text(json.dumps({
        "processor_class": processor_class,
        "image_processor": {"image_processor_type": "Qwen2VLImageProcessor", "patch_size": 16,
                            "size": {"shortest_edge": 65536, "longest_edge": 16777216}},
        "video_processor": {"video_processor_type": "Qwen3VLVideoProcessor"}}))
    return str(d)


def test_model_profile_from_the_checkpoint_files(cli, tmp_path):
    """--model with a model type qwenlint never saw: the processor classes its files name decide
    the prediction (patch 16 here, not the qwen2.5-vl default's 14), and the report says so."""
    make_image(str(tmp_path / "a.png"), 640, 480)
    f = _write(tmp_path, [{"role": "user", "content": [{"type": "image", "image": "a.png"}]}])
    model = _ckpt(tmp_path, "Qwen3VLProcessor")
    r = cli("tokens", "--model", model, "--format", "json", f)
    assert r.exit_code == 0, r.output
    assert r.doc["parts"][0]["grid_thw"] == [1, 30, 40]  # 480x640 on multiples of 32
    prof = r.doc["profile"]
    assert prof["family"] == "qwen3.5" and prof["error"] is None
    assert any("model_type 'qwen_unseen_vl' is not one qwenlint knows" in n for n in prof["derived_from"])
    text = cli("tokens", "--model", model, f)
    assert "Profile: qwen3.5 from " in text.output and "processor Qwen3VLProcessor (processor_config.json)" in text.output


def test_model_profile_error_is_an_error(cli, tmp_path):
    """A class qwenlint does not model: the predictions would be the family's defaults, so tokens
    says so and exits 1 (check reports it as QL412)."""
    make_image(str(tmp_path / "a.png"), 640, 480)
    f = _write(tmp_path, [{"role": "user", "content": [{"type": "image", "image": "a.png"}]}])
    r = cli("tokens", "--model", _ckpt(tmp_path, "Qwen9Processor"), f)
    assert r.exit_code == 1
    assert "processor class Qwen9Processor (processor_config.json) is not one qwenlint models" in r.output
    assert "predictions use the qwen2.5-vl defaults" in r.output


def test_tokens_reads_the_configuration_as_check_does(cli, tmp_path, monkeypatch):
    """[tool.qwenlint]'s family and budget reach ``tokens`` too (it used the default family where
    ``check`` used the configured one); ``--isolated`` ignores the file."""
    monkeypatch.chdir(tmp_path)
    make_image(str(tmp_path / "a.png"), 640, 480)
    f = _write(tmp_path, [{"role": "user", "content": [{"type": "image", "image": "a.png"},
                                                       {"type": "text", "text": "hi"}]}])
    (tmp_path / "pyproject.toml").write_text('[tool.qwenlint]\nfamily = "qwen3-vl"\nmax-model-len = 100\n')
    configured = cli("tokens", "--format", "json", f)
    assert configured.exit_code == 0, configured.output
    part, conv = configured.doc["parts"][0], configured.doc["conversations"][0]
    assert (part["grid_thw"], part["tokens"], conv["budget"]) == ([1, 30, 40], 300, 100)  # qwen3-vl: patch 16
    isolated = cli("tokens", "--format", "json", "--isolated", f).doc
    assert (isolated["parts"][0]["grid_thw"], isolated["conversations"][0]["budget"]) == ([1, 34, 46], None)
    assert cli("tokens", "--format", "json", "--config", str(tmp_path / "missing.toml"), f).exit_code == 2


def test_a_directory_walk_skips_json_in_no_dialect(cli, tmp_path):
    """As check: a walk leaves out trainer_state.json; named, it is a file like any other."""
    _write(tmp_path, [{"role": "user", "content": "Hi"}])
    state = _write(tmp_path, {"epoch": 1.0, "log_history": [{"loss": 1.0}]}, "trainer_state.json")
    assert cli("tokens", "--format", "json", tmp_path).doc["summary"]["files"] == 1
    assert cli("tokens", "--format", "json", tmp_path, state).doc["summary"]["files"] == 2
