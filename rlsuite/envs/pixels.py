"""Pixel grid worlds: Zhao's grid world seen as an RGB image, with exact boxes for detectors.

The dynamics, rewards and exact model are those of :class:`GridWorldEnv` (held as ``env.world``);
only the observation changes: the frame ``GridWorldEnv.render_rgb`` draws. ``info`` carries the
exact bounding boxes and classes of everything drawn, so detectors train on the renderer's labels.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlsuite.envs import checks
from rlsuite.envs.gridworld import COLORS, FORBIDDEN, TARGET, GridWorldEnv, Layout
from rlsuite.envs.model import TabularModel

# Detection classes of the pixel grid world, in label order.
CLASS_NAMES: tuple[str, ...] = ("agent", "target", "forbidden")
AGENT, TARGET_CLASS, FORBIDDEN_CLASS = 0, 1, 2

# Objects of the goal-conditioned variant: (name, RGB). Distinct from the grid's own colours.
OBJECT_COLORS: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("red", (220, 30, 30)),
    ("green", (30, 170, 60)),
    ("blue", (20, 120, 255)),
    ("yellow", (235, 215, 0)),
    ("purple", (150, 50, 170)),
)
INSTRUCTION_CHARSET = "abcdefghijklmnopqrstuvwxyz "
INSTRUCTION_MAX_LENGTH = 48


def layout_map(layout: Layout, start: tuple[int, int] | None = None) -> list[str]:
    """A :class:`Layout` as the ASCII map ``GridWorldEnv(grid_map=...)`` takes."""
    chars = {0: ".", FORBIDDEN: "#", TARGET: "T"}
    rows = [[chars[int(k)] for k in row] for row in layout.kinds]
    if start is not None and layout.kinds[start] != TARGET:
        rows[start[0]][start[1]] = "S"
    return ["".join(r) for r in rows]


@functools.lru_cache(maxsize=64)
def _agent_extent(cell_px: int) -> tuple[int, int, int, int]:
    """The agent disk's extent inside its cell, measured on the renderer itself."""
    probe = GridWorldEnv(grid_map=["ST"], cell_px=cell_px)
    img = probe.render_rgb(state=0)[:, :cell_px]
    ys, xs = np.nonzero((img == np.array(COLORS["agent"], dtype=np.uint8)).all(-1))
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def agent_box(cell: tuple[int, int], cell_px: int) -> np.ndarray:
    """The exact pixel box ``[x0, y0, x1, y1]`` (x1, y1 exclusive) of the agent's disk in ``cell``."""
    x0, y0, x1, y1 = _agent_extent(cell_px)
    r, c = cell
    return np.array(
        [c * cell_px + x0, r * cell_px + y0, c * cell_px + x1, r * cell_px + y1], dtype=np.float32
    )


def cell_box(cell: tuple[int, int], cell_px: int) -> np.ndarray:
    """The pixel box ``[x0, y0, x1, y1]`` of a whole grid cell."""
    r, c = cell
    return np.array([c * cell_px, r * cell_px, (c + 1) * cell_px, (r + 1) * cell_px], dtype=np.float32)


def frame_annotations(world: GridWorldEnv, state: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact boxes ``[N, 4]`` (xyxy pixels) and labels ``[N]`` (:data:`CLASS_NAMES`) of a frame."""
    px = world.cell_px
    s = world.s if state is None else state
    boxes = [agent_box(world.to_cell(s), px), cell_box(world.to_cell(world.target_state), px)]
    labels = [AGENT, TARGET_CLASS]
    for r, c in zip(*np.nonzero(world.kinds == FORBIDDEN), strict=True):
        boxes.append(cell_box((int(r), int(c)), px))
        labels.append(FORBIDDEN_CLASS)
    return np.stack(boxes).astype(np.float32), np.array(labels, dtype=np.int64)


class PixelGridWorldEnv(gym.Env[Any, np.int64]):
    """Zhao's grid world observed as an RGB image.

    ## Description
    The grid world of :class:`~rlsuite.envs.gridworld.GridWorldEnv` (same dynamics, rewards and
    exact model, available as ``env.unwrapped.world``), but the agent sees the rendered frame:
    white free cells, orange forbidden cells, a cyan target and the agent as a dark-blue disk.
    With ``layout_per_episode=True`` every ``reset`` draws a new random solvable layout
    (``Layout.random`` from ``self.np_random``), which is how detectors and pixel policies
    are trained and evaluated on unseen layouts.

    ## Action Space
    ``Discrete(5)``, as ``GridWorldEnv``: 0 up, 1 right, 2 down, 3 left, 4 stay.

    ## Observation Space
    ``Box(0, 255, (n_rows * cell_px, n_cols * cell_px, 3), uint8)``: the RGB frame. The image
    size is set by ``cell_px`` (pixels per cell, default 16) and the grid size.

    ## Info
    ``reset`` and ``step`` return ``info`` with ``state`` (the grid state index), ``boxes``
    (float32 ``[N, 4]``, exact ``[x0, y0, x1, y1]`` pixel boxes, x1/y1 exclusive) and ``labels``
    (int64 ``[N]``, indices into ``CLASS_NAMES = ("agent", "target", "forbidden")``): the agent's
    disk, the target cell and every forbidden cell.

    ## Starting State
    As ``GridWorldEnv``: the top-left cell by default, ``start="random"`` for a uniformly random
    start from ``self.np_random``.

    ## Rewards
    As ``GridWorldEnv`` (``r_boundary``, ``r_forbidden``, ``r_target``, ``r_other``).

    ## Episode End
    As ``GridWorldEnv``: with ``terminate_at_target=True`` on entering the target; the registered
    ids truncate after 100 steps.

    ## Arguments
    ```python
    import gymnasium as gym
    import rlsuite
    env = gym.make("rlsuite/PixelGridWorld-v0")                       # the book's 5x5 example, 80x80 pixels
    env = gym.make("rlsuite/PixelGridWorld-v0", cell_px=32)           # 160x160 pixels
    env = gym.make("rlsuite/PixelGridWorldRandom-v0", n_rows=6, n_cols=6)  # a new layout every episode
    ```
    Every ``GridWorldEnv`` argument is accepted (layout, rewards, dynamics, ``start``, ``cell_px``,
    ``render_mode`` "rgb_array" or "ansi"), plus ``layout_per_episode`` (bool; it takes no
    ``layout_seed``: the layouts come from ``reset(seed=...)``). ``observation`` is fixed to the image.

    ## Version History
    * v0: initial version.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array", "ansi"], "render_fps": 4}

    def __init__(
        self,
        *,
        layout_per_episode: bool = False,
        cell_px: int = 16,
        render_mode: str | None = None,
        **world_kwargs: Any,
    ) -> None:
        if "observation" in world_kwargs:
            raise ValueError("PixelGridWorldEnv: the observation is always the RGB image; drop 'observation'")
        checks.render_mode(render_mode, self.metadata["render_modes"])
        self.layout_per_episode = checks.flag("layout_per_episode", layout_per_episode)
        self.render_mode = render_mode
        self._world_kwargs = dict(world_kwargs, cell_px=cell_px)
        if self.layout_per_episode:
            self._world_kwargs.pop("random_layout", None)
            if self._world_kwargs.pop("layout_seed", None) is not None:  # neither used nor checked otherwise
                raise ValueError(
                    "layout_seed fixes one layout, but with layout_per_episode=True every reset draws a new "
                    "one from reset(seed=...): drop layout_seed"
                )
            self._world_kwargs["random_layout"] = True  # an initial layout; reset draws its own
            if self._world_kwargs.get("start") is None:  # a fixed cell may be cut off on a random layout
                self._world_kwargs["start"] = "random"
        self.world = GridWorldEnv(**self._world_kwargs)
        self.class_names: tuple[str, ...] = CLASS_NAMES
        self.cell_px = cell_px
        self.n_rows, self.n_cols = self.world.n_rows, self.world.n_cols
        self.action_space = spaces.Discrete(self.world.n_actions)
        self.observation_space = spaces.Box(
            0, 255, shape=(self.n_rows * cell_px, self.n_cols * cell_px, 3), dtype=np.uint8
        )

    # The exact model of the current layout (rlsuite.envs.model.tabular_model reads tabular_model).
    @property
    def tabular_model(self) -> TabularModel:
        return self.world.tabular_model

    @property
    def transition_probs(self) -> np.ndarray:
        return self.world.transition_probs

    @property
    def expected_rewards(self) -> np.ndarray:
        return self.world.expected_rewards

    @property
    def P(self) -> dict[int, dict[int, list[tuple[float, int, float, bool]]]]:
        return self.world.P

    def _new_world(self) -> None:
        kw = {
            k: v
            for k, v in self._world_kwargs.items()
            if k not in ("random_layout", "layout_seed", "n_rows", "n_cols", "forbidden_fraction", "start")
        }
        layout = Layout.random(
            self.n_rows, self.n_cols, self._world_kwargs.get("forbidden_fraction", 0.2), self.np_random
        )
        start = self._world_kwargs.get("start")
        if start is None:  # a fixed start would often be cut off on a random layout
            start = "random"
        self.world = GridWorldEnv(grid_map=layout_map(layout), start=start, **kw)

    def _frame(self) -> np.ndarray:
        return self.world.render_rgb()

    def _info(self, info: dict[str, Any]) -> dict[str, Any]:
        boxes, labels = frame_annotations(self.world)
        return dict(info, boxes=boxes, labels=labels)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        if self.layout_per_episode:
            self._new_world()
        self.world.np_random = self.np_random  # one stream of randomness: this env's
        _, info = self.world.reset(options=options)
        return self._frame(), self._info(info)

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        _, reward, terminated, truncated, info = self.world.step(action)
        return self._frame(), reward, terminated, truncated, self._info(info)

    def render(self) -> Any:
        if self.render_mode == "rgb_array":
            return self._frame()
        if self.render_mode == "ansi":
            return self.world.render_ansi()
        return None


class PixelGoalGridWorldEnv(PixelGridWorldEnv):
    """A goal-conditioned pixel grid world: several coloured squares and a text instruction.

    ## Description
    Each episode draws a random solvable layout and places ``n_objects`` coloured squares
    (from red, green, blue, yellow, purple) on distinct non-forbidden cells. One of them is the
    goal; the instruction names it: ``"go to the blue square"``. The goal square's cell is the
    grid world's target (it is drawn as the square, not in cyan, so only the instruction tells
    which square counts). Everything else is ``PixelGridWorldEnv``.

    ## Action Space
    ``Discrete(5)``: up, right, down, left, stay.

    ## Observation Space
    ``Dict(image=Box(0, 255, (H, W, 3), uint8), instruction=...)``. With ``instruction="text"``
    (default) the instruction is a ``Text(max_length=48)`` string over lowercase letters and
    spaces; with ``instruction="index"`` it is ``Discrete(5)``, the goal colour's index in
    ``OBJECT_COLORS`` (for libraries such as SB3 that take no text spaces). ``info["instruction"]``
    always holds the text.

    ## Info
    As ``PixelGridWorldEnv``, with ``class_names = ("agent", "target", "forbidden", "red square",
    ...)``: the goal square is labelled both ``target`` and by its colour; the other squares by
    their colour. ``info["goal"]`` is the goal colour's index.

    ## Starting State
    A uniformly random cell other than the goal, from ``self.np_random``.

    ## Rewards
    As ``GridWorldEnv``: ``r_target`` on reaching the goal, ``r_forbidden`` in forbidden cells,
    ``r_boundary`` at the walls, ``r_other`` elsewhere.

    ## Episode End
    Terminates on reaching the goal square; the registered id truncates after 100 steps.

    ## Arguments
    ```python
    env = gym.make("rlsuite/PixelGoalGridWorld-v0")                    # 5x5, 3 objects, no forbidden cells
    env = gym.make("rlsuite/PixelGoalGridWorld-v0", n_objects=5, forbidden_fraction=0.2, instruction="index")
    ```
    ``n_rows``, ``n_cols``, ``n_objects`` (2 to 5), ``forbidden_fraction``, ``instruction``
    ("text" or "index"), ``cell_px``, ``render_mode`` and the rewards of ``GridWorldEnv``.

    ## Version History
    * v0: initial version.
    """

    def __init__(
        self,
        *,
        n_rows: int = 5,
        n_cols: int = 5,
        n_objects: int = 3,
        forbidden_fraction: float = 0.0,
        instruction: Literal["text", "index"] = "text",
        cell_px: int = 16,
        render_mode: str | None = None,
        **world_kwargs: Any,
    ) -> None:
        if (
            isinstance(n_objects, bool)
            or not isinstance(n_objects, int)
            or not 2 <= n_objects <= len(OBJECT_COLORS)
        ):
            raise ValueError(f"n_objects must be an integer in [2, {len(OBJECT_COLORS)}], got {n_objects!r}")
        if instruction not in ("text", "index"):
            raise ValueError(f"instruction must be 'text' or 'index', got {instruction!r}")
        world_kwargs.setdefault("terminate_at_target", True)
        super().__init__(
            layout_per_episode=True,
            cell_px=cell_px,
            render_mode=render_mode,
            n_rows=n_rows,
            n_cols=n_cols,
            forbidden_fraction=forbidden_fraction,
            start="random",
            **world_kwargs,
        )
        if n_rows * n_cols - round(forbidden_fraction * n_rows * n_cols) < n_objects + 1:
            raise ValueError(
                f"a {n_rows}x{n_cols} grid with forbidden_fraction={forbidden_fraction} has no room "
                f"for {n_objects} objects and the agent"
            )
        self.n_objects = n_objects
        self.instruction_kind = instruction
        self.class_names = CLASS_NAMES + tuple(f"{name} square" for name, _ in OBJECT_COLORS)
        instr_space: spaces.Space[Any] = (
            spaces.Text(max_length=INSTRUCTION_MAX_LENGTH, charset=INSTRUCTION_CHARSET)
            if instruction == "text"
            else spaces.Discrete(len(OBJECT_COLORS))
        )
        self.observation_space = spaces.Dict({"image": self.observation_space, "instruction": instr_space})
        self.objects: list[tuple[int, tuple[int, int]]] = []  # (colour index, cell); objects[0] is the goal
        self.goal = 0

    @property
    def instruction(self) -> str:
        return f"go to the {OBJECT_COLORS[self.goal][0]} square"

    def _new_world(self) -> None:
        super()._new_world()
        colours = self.np_random.choice(len(OBJECT_COLORS), size=self.n_objects, replace=False)
        free = np.flatnonzero(self.world.kinds.reshape(-1) == 0)
        cells = self.np_random.choice(free, size=self.n_objects - 1, replace=False)
        target = self.world.to_cell(self.world.target_state)
        self.objects = [(int(colours[0]), target)] + [
            (int(k), self.world.to_cell(int(s))) for k, s in zip(colours[1:], cells, strict=True)
        ]
        self.goal = int(colours[0])

    def _frame(self) -> np.ndarray:
        img = self.world.render_rgb()
        px = self.cell_px
        inset = max(1, round(0.15 * px))
        agent = (img == np.array(COLORS["agent"], dtype=np.uint8)).all(-1)
        tr, tc = self.world.to_cell(self.world.target_state)  # the goal's cell is not shown in cyan
        sl = (slice(tr * px + 1, (tr + 1) * px), slice(tc * px + 1, (tc + 1) * px))
        img[sl][~agent[sl]] = COLORS["free"]
        img[-1, :] = COLORS["line"]
        img[:, -1] = COLORS["line"]
        for k, (r, c) in self.objects:
            sl = (
                slice(r * px + inset, (r + 1) * px - inset + 1),
                slice(c * px + inset, (c + 1) * px - inset + 1),
            )
            patch = img[sl]
            patch[~agent[sl]] = OBJECT_COLORS[k][1]
        return img

    def _obs(self, frame: np.ndarray) -> dict[str, Any]:
        instr: Any = self.instruction if self.instruction_kind == "text" else np.int64(self.goal)
        return {"image": frame, "instruction": instr}

    def _info(self, info: dict[str, Any]) -> dict[str, Any]:
        boxes, labels = frame_annotations(self.world)
        px = self.cell_px
        inset = max(1, round(0.15 * px))
        extra_boxes = [
            cell_box(cell, px) + np.array([inset, inset, -inset + 1, -inset + 1], dtype=np.float32)
            for _, cell in self.objects
        ]
        extra_labels = [len(CLASS_NAMES) + k for k, _ in self.objects]
        boxes = np.concatenate([boxes, np.stack(extra_boxes)]).astype(np.float32)
        labels = np.concatenate([labels, np.array(extra_labels, dtype=np.int64)])
        return dict(info, boxes=boxes, labels=labels, instruction=self.instruction, goal=self.goal)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        frame, info = super().reset(seed=seed, options=options)
        return self._obs(frame), info

    def step(self, action: int) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        frame, reward, terminated, truncated, info = super().step(action)
        return self._obs(frame), reward, terminated, truncated, info
