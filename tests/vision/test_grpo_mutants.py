"""Exact checks of rlsuite.vision.grpo's helpers (mutation testing, issue 26 point 7): completions' text, the
reference blobs, the reward functions TRL calls, greedy answers and the measured report, the newest checkpoint.

Greedy answers run the untrained tiny Llava of rlsuite.vision.models; suppressing every token but one makes its
answer known in advance, and otherwise its first greedy token is the argmax of one forward pass on the prompt.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from rlsuite.vision.grpo import (
    PROMPTS,
    VisionGRPOConfig,
    _reference,
    _text,
    chat_processor,
    frames_and_references,
    greedy_answers,
    measure,
    newest_checkpoint,
    reward_functions,
)
from rlsuite.vision.models import build_tiny_llava

# A chat template that adds the answer cue only for a generation prompt (as instruction-tuned VLMs' do).
CUE_TEMPLATE = (
    "{% for message in messages %}{% for part in message['content'] %}{% if part['type'] == 'image' %}<image> "
    "{% else %}{{ part['text'] }}{% endif %}{% endfor %}{% endfor %}{% if add_generation_prompt %} answer :{% endif %}"
)


@pytest.fixture(scope="module")
def llava():
    torch.manual_seed(0)
    model, processor = build_tiny_llava()
    return model, chat_processor(processor)


@pytest.fixture(scope="module")
def frames_refs():
    return frames_and_references(VisionGRPOConfig(size=3, max_forbidden=3), range(17), 17)


def _all_but(processor, words: list[str]) -> list[int]:
    keep = set(processor.tokenizer.convert_tokens_to_ids(words))
    return [i for i in range(len(processor.tokenizer)) if i not in keep]


# ----------------------------------------------------------------------------- config, text, references
def test_the_question_fills_in_the_class():
    assert VisionGRPOConfig().question() == PROMPTS["count"].replace("{name}", "forbidden")
    assert VisionGRPOConfig().question() == (
        "question : how many forbidden cells are there ? answer with a number . answer :"
    )
    assert VisionGRPOConfig(prompt="where is the {name} ?", target_class="agent").question() == "where is the agent ?"


def test_completion_text_of_every_shape_trl_gives():
    assert _text([{"role": "assistant", "content": "two"}, "three"]) == "two three"
    assert _text([{"role": "assistant"}]) == ""  # no content: nothing said
    assert _text(["a", "b"]) == "a b"
    assert _text({"text": "four"}) == "four" and _text({}) == ""
    assert _text("five") == "five" and _text(6) == "6"


def test_reference_blobs_are_float_boxes():
    two = _reference(json.dumps([[0, 16, 16, 32], [16, 16, 32, 32]]))
    assert two.boxes.dtype == np.float64 and two.boxes.shape == (2, 4) and two.count == 2
    np.testing.assert_array_equal(two.boxes, [[0.0, 16.0, 16.0, 32.0], [16.0, 16.0, 32.0, 32.0]])
    assert _reference("[]").boxes.shape == (0, 4)


def test_reward_functions_read_conversational_completions_with_the_configs_task_and_cell_size():
    config = VisionGRPOConfig(task="boxes", rewards=["count", "iou"], cell_px=8, target_class="agent")
    count, iou = reward_functions(config)
    assert (count.__name__, iou.__name__) == ("count_reward", "iou_reward")
    completions = [[{"role": "assistant", "content": "row one column two"}],  # the box [8, 0, 16, 8] at 8 px a cell
                   [{"role": "assistant", "content": "row two column two and [0, 0, 8, 8]"}],
                   [{"role": "assistant", "content": "up"}]]  # fmt: skip
    reference = [json.dumps([[8, 0, 16, 8]]), json.dumps([[8, 8, 16, 16]]), json.dumps([[0, 0, 8, 8]])]
    assert count(None, completions, reference) == [1.0, 0.0, 0.0]
    assert iou(None, completions, reference) == [1.0, 1.0, 0.0]
    with pytest.raises(ValueError):  # one reference short: refused, not silently cut
        count(None, completions, reference[:2])


# ----------------------------------------------------------------------------- greedy answers and measuring
def test_greedy_answers_say_the_only_allowed_word_and_skip_special_tokens(llava, frames_refs):
    model, processor = llava
    frames = frames_refs[0]
    two = greedy_answers(model, processor, frames, "how many ?", 2, _all_but(processor, ["two"]))
    assert two == ["two two"] * 17  # 17 frames: two batches of 16 and 1
    eos = greedy_answers(model, processor, frames[:2], "how many ?", 3, _all_but(processor, ["<eos>"]))
    assert eos == ["", ""]  # the end token, skipped


def test_finished_answers_are_padded_with_the_tokenizers_pad_token(llava, frames_refs):
    """Only "one" and the end token allowed: the answers end after 1, 2 or 3 words, and the rows that ended are
    padded with the tokenizer's pad token (skipped), not with a generation config's other pad id ("up" here)."""
    model, processor = llava
    model.generation_config.pad_token_id = processor.tokenizer.convert_tokens_to_ids("up")
    try:
        answers = greedy_answers(
            model, processor, frames_refs[0], "how many ?", 3, _all_but(processor, ["one", "<eos>"])
        )
    finally:
        model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    assert all(set(a.split()) == {"one"} for a in answers)
    assert {len(a.split()) for a in answers} == {1, 2, 3}


def test_greedy_first_tokens_are_the_argmax_of_the_generation_prompt(llava, frames_refs):
    model, processor = llava
    frames = frames_refs[0][:6]
    processor.chat_template, template = CUE_TEMPLATE, processor.chat_template
    model.generation_config.do_sample = True  # as instruction-tuned models' generation_config.json says: overridden
    try:
        answers = greedy_answers(model, processor, frames, "how many forbidden cells ?", 1, [])
    finally:
        processor.chat_template, model.generation_config.do_sample = template, False
    prompt = "<image> how many forbidden cells ? answer :"
    inputs = processor(images=[[Image.fromarray(f)] for f in frames], text=[prompt] * 6, return_tensors="pt")
    with torch.no_grad():
        best = model(**inputs).logits[:, -1].argmax(-1)
    assert answers == processor.tokenizer.batch_decode(best[:, None], skip_special_tokens=True)
    assert len(set(answers)) > 1  # the frames matter, so a wrong prompt would show


def test_measure_reports_each_reward_the_total_the_parsed_share_and_three_examples(llava, frames_refs):
    model, processor = llava
    frames, refs = frames_refs
    config = VisionGRPOConfig(rewards=["count", "presence"], max_new_tokens=1)
    report = measure(model, processor, config, frames, refs, _all_but(processor, ["two"]))
    counts = [r.count for r in refs]
    count = float(np.mean([c == 2 for c in counts]))
    presence = float(np.mean([c > 0 for c in counts]))
    assert report == {"count": count, "presence": presence, "total": count + presence, "parsed": 1.0,
                      "examples": ["two", "two", "two"]}  # fmt: skip
    assert count != presence  # both frames with 2 and others in these 17
    unparsed = measure(model, processor, config, frames[:4], refs[:4], _all_but(processor, ["up"]))
    assert unparsed == {"count": 0.0, "presence": 0.0, "total": 0.0, "parsed": 0.0, "examples": ["up"] * 3}
    with pytest.raises(ValueError):  # one reference short: refused
        measure(model, processor, config, frames[:4], refs[:3], [])


def test_measure_asks_the_configs_question_with_its_answer_length(llava, frames_refs):
    model, processor = llava
    frames, refs = frames_refs
    config = VisionGRPOConfig(max_new_tokens=2, prompt="how many {name} cells ?")
    report = measure(model, processor, config, frames[:3], refs[:3], [])
    assert report["examples"] == greedy_answers(model, processor, frames[:3], "how many forbidden cells ?", 2, [])
    assert all(len(text.split()) == 2 for text in report["examples"])


def test_measure_reads_cell_answers_at_the_configs_cell_size(llava):
    """The model's generation config biased to say "row one column two" (each word favoured after the one
    before it): at 8 pixels a cell that is the box [8, 0, 16, 8]."""
    from rlsuite.vision.grpo import Answer, answer_reward

    model, processor = llava
    config = VisionGRPOConfig(task="boxes", rewards=["count", "iou"], cell_px=8, max_new_tokens=4, size=2,
                              max_forbidden=2, target_class="agent")  # fmt: skip
    frames, refs = frames_and_references(config, range(8), 8)

    def ids(*words: str) -> tuple[int, ...]:
        return tuple(processor.tokenizer.convert_tokens_to_ids(list(words)))

    model.generation_config.sequence_bias = {ids("row"): 100.0, ids("row", "one"): 300.0,
                                             ids("one", "column"): 500.0, ids("column", "two"): 700.0}  # fmt: skip
    try:
        report = measure(model, processor, config, frames, refs, [])
    finally:
        model.generation_config.sequence_bias = None
    said = Answer(1, np.array([[8.0, 0.0, 16.0, 8.0]]))
    iou = [answer_reward(said, r, "iou", "agent") for r in refs]
    assert report == {"count": 1.0, "iou": float(np.mean(iou)), "total": 1.0 + float(np.mean(iou)), "parsed": 1.0,
                      "examples": ["row one column two"] * 3}  # fmt: skip
    assert sorted(set(iou)) == [0.0, 0.5625]  # the agent at that cell in some frames (its box 6x6 px: 36/64)


# ----------------------------------------------------------------------------- checkpoints
def test_no_checkpoint_is_none(tmp_path):
    assert newest_checkpoint(tmp_path) is None
    (tmp_path / "checkpoints" / "checkpoint-3").mkdir(parents=True)  # no trainer_state.json: unfinished
    assert newest_checkpoint(tmp_path) is None


# ----------------------------------------------------------------------------- the model to train
def test_load_model_reports_its_decisions_and_loads_pickled_weights_only_when_trusted(tmp_path):
    from safetensors.torch import load_file

    from rlsuite.common.errors import ModelFolderError
    from rlsuite.testing.vision_models import save_tiny_vlm
    from rlsuite.vision.adapters import VLMModelOptions, count_parameters
    from rlsuite.vision.grpo import load_model

    folder = save_tiny_vlm("llava", tmp_path / "llava")
    torch.save(load_file(str(folder / "model.safetensors")), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    config, cpu = VisionGRPOConfig(device="cpu"), torch.device("cpu")
    with pytest.raises(ModelFolderError, match="pickle"):
        load_model(config, VLMModelOptions(model=str(folder), finetune="full"), cpu)
    full = VLMModelOptions(model=str(folder), finetune="auto", lora_min_params=10**9, trust_pickle=True)
    model, processor, info = load_model(config, full, cpu)
    n = count_parameters(model)
    assert info == {"model": str(folder), "parameters": n, "finetune": "full", "trainable_parameters": n}
    assert processor.tokenizer.convert_tokens_to_ids("<image>") == 4
    lora = VLMModelOptions(model=str(folder), finetune="auto", lora_min_params=1, trust_pickle=True)
    model, _, info = load_model(config, lora, cpu)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert info == {"model": str(folder), "parameters": n, "finetune": "lora", "trainable_parameters": trainable}
    assert 0 < trainable < n


def test_count_reward_functions_read_numbers():
    (count,) = reward_functions(VisionGRPOConfig(task="count", rewards=["count"]))
    completions = [[{"role": "assistant", "content": "two"}], "none"]  # "none" is no number: unparsed, 0
    assert count(None, completions, ["[[0, 0, 16, 16], [16, 0, 32, 16]]"] * 2) == [1.0, 0.0]
