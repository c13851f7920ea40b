"""``vision eval-vlm`` on a policy that reasons before the action (issue 27): it generates the answers, reads
the action with the run's grammar (or the flags'), counts and reports the unparsed ones."""

from __future__ import annotations

import re

import pytest

from rlsuite.vision.adapters import load_trained_policy
from rlsuite.vision.defaults import default_vlm_policy
from rlsuite.vision.finetune import VLMEvalConfig, VLMTrainConfig, evaluate_vlm, trained_answers
from rlsuite.vision.reasoning import AnswerConfig, ReasoningConfig

TINY = dict(size=3, hidden=16, layers=1, bc_layouts=5, bc_steps=6, bc_batch=8, bc_warmup=2, ppo_updates=0,
            eval_episodes=3, max_episode_steps=4, device="cpu")  # fmt: skip
EVAL = ["--episodes", "3", "--size", "3", "--max_episode_steps", "4", "--device", "cpu"]


@pytest.fixture(scope="module")
def reasoning_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reasoning-run")
    rcfg = ReasoningConfig(reasoning=True, max_new_tokens=4, fallback="random")
    default_vlm_policy(VLMTrainConfig(**TINY), out=folder, overwrite=True, reasoning=rcfg)
    return folder


def reported(out: str) -> tuple[float, int, int]:
    success = float(re.search(r"success (\d\.\d+) on 3 held-out", out).group(1))
    unparsed, answers = map(int, re.search(r"reasoned answers: (\d+) of (\d+) unparsed", out).groups())
    return success, unparsed, answers


def test_eval_vlm_reads_a_reasoning_runs_answers_with_its_grammar(cli, reasoning_run):
    settings = trained_answers(reasoning_run)
    assert settings is not None and settings["max_new_tokens"] == 4
    code, out, err = cli("vision", "eval-vlm", str(reasoning_run), *EVAL)
    assert code == 0, err
    # the same evaluation in-process: the run's grammar, fallback, generation length and prompt
    policy = load_trained_policy(reasoning_run, device="cpu", dtype="float32", prompt=settings["prompt"])
    held_out = VLMEvalConfig(size=3, episodes=3, max_episode_steps=4)
    fields = {k: settings[k] for k in ("reasoning", "grammar", "fallback", "max_new_tokens")}
    expected = evaluate_vlm(policy, held_out, AnswerConfig(**fields))
    assert expected["mode"] == "reasoning" and expected["answers"] >= 3
    assert reported(out) == (round(expected["success"], 3), expected["unparsed_answers"], expected["answers"])


def test_an_answer_no_template_matches_takes_the_fallback_and_is_counted(cli, reasoning_run):
    """A grammar whose word the tiny vocabulary cannot spell, fallback "stay": every answer is unparsed, the
    agent never moves, so each of the 3 episodes runs its 4 steps: 12 answers, 12 unparsed, success 0."""
    code, out, err = cli("vision", "eval-vlm", str(reasoning_run), *EVAL, "--grammar", "Zebra: {action}",
                         "--fallback", "stay")  # fmt: skip
    assert code == 0, err
    assert reported(out) == (0.0, 12, 12)
    assert "(fallback: stay)" in out


def test_eval_vlm_scores_a_scoring_folder_as_before(cli, tmp_path):
    folder = tmp_path / "scoring"
    default_vlm_policy(VLMTrainConfig(**{**TINY, "bc_steps": 2}), out=folder)
    assert trained_answers(folder) is None
    code, out, err = cli("vision", "eval-vlm", str(folder), *EVAL)
    assert code == 0, err
    assert "success" in out and "reasoned answers" not in out

