"""``align compare``: alignment methods side by side on one model and one preference set.

The methods, and the signal each trains on (the report states it, since it decides how to read the
comparison):

| key | method | trainer | signal |
|---|---|---|---|
| dpo | DPO | ``DPOTrainer``, ``loss_type=sigmoid`` | preference pairs, offline |
| ipo | IPO | ``DPOTrainer``, ``loss_type=ipo`` | preference pairs, offline |
| rdpo | robust DPO | ``DPOTrainer``, ``loss_type=robust`` | preference pairs, offline (assumed label noise) |
| online_dpo | Online DPO | ``trl.experimental.online_dpo`` | reward model, online |
| rloo | RLOO | ``RLOOTrainer`` | reward model, online |
| grpo | GRPO | ``GRPOTrainer`` | reward model, online |
| grpo_gold | GRPO (gold) | ``GRPOTrainer`` | gold reward, online (verifiable) |
| ppo | PPO | TRL 1.12 ``trl.experimental.ppo`` | reward model, online |
| kto, orpo, simpo, bco | KTO, ORPO, SimPO, BCO (opt-in) | :mod:`rlsuite.alignment.methods` | pairs, offline |
| dpo:LOSS[=W][+LOSS[=W]] | DPO, any loss or weighted mix | ``DPOTrainer``, ``loss_weights`` | pairs, offline |

Modules: :mod:`~rlsuite.alignment.compare.plan` (the rows, :class:`CompareConfig`, the runs),
:mod:`~rlsuite.alignment.compare.run` (the stages and the runs, :func:`run_compare`),
:mod:`~rlsuite.alignment.compare.report` (table, ``report.md``, ``frontier.png``).

Stages: SFT (unless the model is already SFT'd), preference pairs sampled from it (on the synthetic
task), the reward model and the SFT baseline's held-out samples run first, in this process. Then
every training run (a method at a KL strength and a seed: the table's headline runs and the
frontier's points) is independent of the others: with ``workers > 1`` they run as Ray tasks
(:mod:`rlsuite.alignment.workers`), else one after another. A run trains, then measures itself on the
held-out prompts; runs are deterministic given their seed, so the numbers do not depend on how many
workers ran them.

Everything lives in ``OUT/stages/``: a training folder with ``metrics.json`` (written last) is
finished, one with ``eval.json`` too is measured; both are skipped when the comparison runs again,
an unfinished one resumes from its newest valid checkpoint. A folder holding a comparison with
other settings is refused. The caller holds the folder (:class:`~rlsuite.common.io.OutputDir`) and
writes the report from the returned results.
"""

from __future__ import annotations

from rlsuite.alignment.compare.plan import ROWS, CompareConfig, Row, Run, plan, row, stage_names
from rlsuite.alignment.compare.report import report_md, table_text, write_report
from rlsuite.alignment.compare.run import check_inputs, execute, run_compare

__all__ = ["ROWS", "CompareConfig", "Row", "Run", "check_inputs", "execute", "plan", "report_md", "row",
           "run_compare", "stage_names", "table_text", "write_report"]
