"""The benchmark's workloads: real plan text, seeded tool latencies, calibration.

Every workload is one question answered four ways from the same inputs:

- `plan_text`: what the LLMCompiler planner streams (the paper's plan format);
- `react_steps` + `final_text`: what a ReAct model writes, one step per tool call;
- `turns` + `final_text`: what a one-turn parallel function-calling model (as OpenAI
  models do it) writes: one turn per dependency level, every call of the level in it;
- `final_text` is also the joiner's reply.

Each call has a key (its first argument, never a reference), a duration and a result;
the tools look both up by key, so the three methods run exactly the same calls.
Durations are seconds at scale 1; `scaled()` multiplies them.

Calibration (Kim et al., arXiv 2312.04511, Movie Recommendation with gpt-3.5): the
planner's call took 1.88 s, the final answer 1.62 s, a Wikipedia search 0.61 s on
average and the slowest of 8 parallel searches 1.13 s. See `calibrate`.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from benchmarks._ideal import ModelTiming

PAPER = {
    "planner_s": 1.88,
    "joiner_s": 1.62,
    "search_mean_s": 0.61,
    "search_max_of_8_s": 1.13,
    "speedup_vs_react": {"hotpotqa": 1.80, "movie": 3.74, "parallelqa": 2.15},
}

# An assumption, not a paper figure: word-sized tokens (llmcompiler.llm.base.split_tokens)
# per second. Plan text is code-like, about 1.7 BPE tokens per word-token, so this is
# ~65-70 BPE tokens/s, a typical streaming speed of gpt-3.5-turbo in late 2023.
DEFAULT_TOKENS_PER_SECOND = 40.0

SEARCH_SIGMA = 0.45  # lognormal spread of search latencies outside the Movie workload
MATH_SIGMA = 0.15
MATH_OUTPUT_TOKENS = 8  # the math tool is a short model call: ttft + ~8 tokens


@dataclass(frozen=True)
class Call:
    idx: int
    tool: str  # "search" or "math"
    key: str  # the first argument
    deps: tuple[int, ...] = ()
    duration: float = 0.0
    result: str = ""
    context: tuple[str, ...] = ()  # what ReAct and function calling pass as literal context


@dataclass(frozen=True)
class Workload:
    name: str
    family: str  # hotpotqa, movie, parallelqa, chain
    question: str
    answer: str
    calls: tuple[Call, ...]
    plan_text: str
    final_text: str  # the joiner's reply, ReAct's last step, the function-calling answer turn
    react_steps: tuple[tuple[str, int], ...]  # (step text, call idx), in ReAct's order
    turns: tuple[tuple[str, tuple[int, ...]], ...]  # (turn text, call ids) per dependency level
    notes: dict = field(default_factory=dict)

    def call(self, idx: int) -> Call:
        for c in self.calls:
            if c.idx == idx:
                return c
        raise KeyError(idx)

    def scaled(self, factor: float) -> Workload:
        return replace(self, calls=tuple(replace(c, duration=c.duration * factor) for c in self.calls))

    @property
    def durations(self) -> dict[int, float]:
        return {c.idx: c.duration for c in self.calls}

    @property
    def table(self) -> dict[tuple[str, str], tuple[float, str]]:
        """(tool, key) -> (seconds, result): what the simulated tools look up."""
        return {(c.tool, c.key): (c.duration, c.result) for c in self.calls}


# -- calibration -----------------------------------------------------------------------


def last_chunk_index(n_tokens: int, chunk_tokens: int) -> int:
    """Index of the first token of the last chunk: the stream ends when that chunk arrives."""
    return ((max(n_tokens, 1) - 1) // chunk_tokens) * chunk_tokens


def calibrate(
    plan_text: str,
    *,
    tokens_per_second: float | None = None,
    ttft: float | None = None,
    chunk_tokens: int = 1,
    stop: Sequence[str] = (),
) -> ModelTiming:
    """The model timing under which the Movie plan streams in the paper's 1.88 s.

    One of `tokens_per_second` and `ttft` is assumed (default: 40 word-tokens/s), the
    other solved from 1.88 s = ttft + (first token of the last chunk) / speed.
    """
    n = ModelTiming(0.0, 1.0, chunk_tokens).output_tokens(plan_text, stop)
    index = last_chunk_index(n, chunk_tokens)
    if ttft is not None and tokens_per_second is not None:
        return ModelTiming(ttft, tokens_per_second, chunk_tokens)
    if ttft is not None:
        if ttft >= PAPER["planner_s"]:
            raise ValueError(f"ttft must be below the planner's {PAPER['planner_s']} s")
        return ModelTiming(ttft, index / (PAPER["planner_s"] - ttft), chunk_tokens)
    tps = tokens_per_second or DEFAULT_TOKENS_PER_SECOND
    solved = PAPER["planner_s"] - index / tps
    if solved < 0:
        raise ValueError(f"at {tps} tokens/s the Movie plan alone takes longer than {PAPER['planner_s']} s")
    return ModelTiming(solved, tps, chunk_tokens)


def lognormal(rng: random.Random, mean: float, sigma: float) -> float:
    mu = math.log(mean) - sigma * sigma / 2
    return math.exp(rng.gauss(mu, sigma))


def paper_searches(rng: random.Random, n: int = 8) -> list[float]:
    """n lognormal search latencies with exactly the paper's mean (0.61 s) and maximum (1.13 s).

    Draws z_i ~ N(0, 1), then picks mu and sigma so that exp(mu + sigma * z_i) has that
    mean and that maximum (bisection on sigma; the ratio mean/max falls with sigma).
    """
    z = [rng.gauss(0.0, 1.0) for _ in range(n)]
    top = max(z)
    target = PAPER["search_mean_s"] / PAPER["search_max_of_8_s"]

    def ratio(sigma: float) -> float:
        return sum(math.exp(sigma * (v - top)) for v in z) / n

    lo, hi = 0.0, 20.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if ratio(mid) > target:
            lo = mid
        else:
            hi = mid
    sigma = (lo + hi) / 2
    mu = math.log(PAPER["search_max_of_8_s"]) - sigma * top
    return [math.exp(mu + sigma * v) for v in z]


def search_latency(rng: random.Random) -> float:
    """Around the paper's 0.61 s mean, never above the slowest search it saw (1.13 s)."""
    return min(max(lognormal(rng, PAPER["search_mean_s"], SEARCH_SIGMA), 0.15), PAPER["search_max_of_8_s"])


def math_latency(rng: random.Random, timing: ModelTiming) -> float:
    """A short model call: the model's time to first token plus a few tokens."""
    median = timing.ttft + MATH_OUTPUT_TOKENS / (timing.tokens_per_second or 1e9)
    return min(median * math.exp(rng.gauss(0.0, MATH_SIGMA)), 1.5 * median)


# -- text helpers ----------------------------------------------------------------------


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _plan_line(call: Call) -> str:
    if call.tool == "search":
        return f"{call.idx}. search({_q(call.key)})"
    refs = ", ".join(f'"${d}"' for d in call.deps)
    return f"{call.idx}. math({_q(call.key)}, context=[{refs}])"


def _action(call: Call) -> str:
    """The call as ReAct writes it: literal values instead of references."""
    if call.tool == "search":
        return f"search({_q(call.key)})"
    return f"math({_q(call.key)}, context=[{', '.join(_q(c) for c in call.context)}])"


def _function_call(call: Call) -> str:
    """The call as a function-calling model writes it: a name and JSON arguments."""
    if call.tool == "search":
        return f"search({json.dumps({'query': call.key})})"
    return f"math({json.dumps({'problem': call.key, 'context': list(call.context)})})"


def _levels(calls: Sequence[Call]) -> list[list[Call]]:
    depth: dict[int, int] = {}
    for call in calls:
        depth[call.idx] = 1 + max((depth[d] for d in call.deps), default=-1)
    out: list[list[Call]] = [[] for _ in range(max(depth.values()) + 1)]
    for call in calls:
        out[depth[call.idx]].append(call)
    return out


def _assemble(
    name: str,
    family: str,
    question: str,
    answer: str,
    calls: list[Call],
    plan_thoughts: dict[int, str],
    react_thoughts: list[str],
    final_thought: str,
    react_order: list[int] | None = None,
) -> Workload:
    """`plan_thoughts`: id -> the `Thought:` line written before that call (the join is id len+1)."""
    join = len(calls) + 1
    lines = []
    for call in calls:
        if call.idx in plan_thoughts:
            lines.append(f"Thought: {plan_thoughts[call.idx]}")
        lines.append(_plan_line(call))
    if join in plan_thoughts:
        lines.append(f"Thought: {plan_thoughts[join]}")
    lines.append(f"{join}. join()<END_OF_PLAN>")
    plan = "\n".join(lines)
    by_idx = {c.idx: c for c in calls}
    order = react_order or [c.idx for c in calls]
    steps = tuple(
        (f"Thought: {thought}\nAction: {_action(by_idx[i])}", i)
        for thought, i in zip(react_thoughts, order, strict=True)
    )
    turns = tuple(
        ("\n".join(_function_call(c) for c in level), tuple(c.idx for c in level)) for level in _levels(calls)
    )
    final = f"Thought: {final_thought}\nAction: Finish({answer})"
    return Workload(name, family, question, answer, tuple(calls), plan, final, steps, turns)


# -- the workloads -----------------------------------------------------------------------


def hotpotqa(rng: random.Random, timing: ModelTiming) -> Workload:
    people = [
        (
            "Scott Derrickson",
            "Scott Derrickson (born July 16, 1966) is an American director, screenwriter and producer.",
        ),
        ("Ed Wood", "Edward Davis Wood Jr. (1924-1978) was an American filmmaker, actor and author."),
    ]
    calls = [Call(i, "search", key, (), search_latency(rng), text) for i, (key, text) in enumerate(people, start=1)]
    return _assemble(
        "hotpotqa",
        "hotpotqa",
        "Were Scott Derrickson and Ed Wood of the same nationality?",
        "yes",
        calls,
        {
            1: "I need the nationality of both men; the two searches do not depend on each other.",
            3: "I can answer the question now.",
        },
        [
            "I need to find the nationality of Scott Derrickson and of Ed Wood, then compare them. "
            "I will search for Scott Derrickson first.",
            "Scott Derrickson is an American director. I need to search for Ed Wood next.",
        ],
        "Scott Derrickson is an American director, screenwriter and producer, and Ed Wood was an American "
        "filmmaker, actor and author. Both men are American, so they were of the same nationality.",
    )


MOVIES = [
    ("The Lion King", "a 1994 American animated musical drama film produced by Walt Disney Feature Animation"),
    ("Aladdin", "a 1992 American animated musical fantasy comedy film produced by Walt Disney Feature Animation"),
    ("Beauty and the Beast", "a 1991 American animated musical romantic fantasy film produced by Walt Disney"),
    ("Toy Story", "a 1995 American animated comedy film produced by Pixar Animation Studios"),
    ("Finding Nemo", "a 2003 American animated comedy-drama adventure film produced by Pixar Animation Studios"),
    ("Reservoir Dogs", "a 1992 American independent crime film written and directed by Quentin Tarantino"),
    ("The Godfather", "a 1972 American epic gangster film directed by Francis Ford Coppola"),
    ("Schindler's List", "a 1993 American epic historical drama film directed by Steven Spielberg"),
]


def movie(rng: random.Random, timing: ModelTiming) -> Workload:
    latencies = paper_searches(rng, len(MOVIES))
    calls = [
        Call(i, "search", title, (), latencies[i - 1], f"{title} is {text}.")
        for i, (title, text) in enumerate(MOVIES, start=1)
    ]
    # The plan's shape follows the paper's own Movie planner example: eight searches, with a
    # thought before the question's films, one before the options and one before join().
    react = [f"I need to search for information about each movie, starting with {MOVIES[0][0]}."]
    react += [f"I need to search for information about {title} next." for title, _ in MOVIES[1:4]]
    react += [f"I found all movies in the question. Now the options, starting with {MOVIES[4][0]}."]
    react += [f"I need to search for information about {title} next." for title, _ in MOVIES[5:]]
    question = (
        "Find a movie similar to The Lion King, Aladdin, Beauty and the Beast, Toy Story\n"
        "Options:\nFinding Nemo\nReservoir Dogs\nThe Godfather\nSchindler's List"
    )
    return _assemble(
        "movie",
        "movie",
        question,
        "Finding Nemo",
        calls,
        {
            1: "I need to find all movies in the question.",
            5: "I need to find all movies in the options.",
            9: "I can answer the question now.",
        },
        react,
        "The Lion King, Aladdin, Beauty and the Beast and Toy Story are all animated family films from Disney "
        "and Pixar. Of the options, only Finding Nemo is an animated family film; the other three are crime "
        "and war dramas for adults.",
    )


# branches -> (question, entities (name, base value), attribute, unit, changes in %, final)
PARALLELQA = {
    2: (
        "If Mount Everest lost 10% of its height and K2 gained 5%, how tall would the taller of the two be, in metres?",
        [("Mount Everest", 8849), ("K2", 8611)],
        "height",
        "m",
        [-10, 5],
        ("the larger of these two heights", max),
    ),
    3: (
        "If the Nile were 10% shorter, the Amazon 5% longer and the Yangtze 20% longer, what would be the "
        "average length of the three rivers in kilometres?",
        [("Nile", 6650), ("Amazon River", 6400), ("Yangtze", 6300)],
        "length",
        "km",
        [-10, 5, 20],
        ("the average of these three lengths", lambda v: sum(v) / len(v)),
    ),
    4: (
        "If the population of France grew by 3%, Germany's shrank by 2%, Italy's shrank by 5% and Spain's grew "
        "by 4%, what would be the total population of the four countries, in millions?",
        [("France", 68.4), ("Germany", 84.5), ("Italy", 58.9), ("Spain", 48.6)],
        "population in millions",
        "million",
        [3, -2, -5, 4],
        ("the sum of these four populations", sum),
    ),
    5: (
        "If Mercury grew by 10%, Venus by 5%, Earth by 2%, Mars by 20% and Jupiter shrank by 1% in diameter, what "
        "would be the difference in kilometres between the largest and the smallest of the five diameters?",
        [("Mercury (planet)", 4879), ("Venus", 12104), ("Earth", 12742), ("Mars", 6779), ("Jupiter", 139820)],
        "diameter",
        "km",
        [10, 5, 2, 20, -1],
        ("the difference between the largest and the smallest of these five diameters", lambda v: max(v) - min(v)),
    ),
}


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def parallelqa(branches: int, rng: random.Random, timing: ModelTiming) -> Workload:
    question, entities, attr, unit, changes, (final_text, final_op) = PARALLELQA[branches]
    k = len(entities)
    calls: list[Call] = []
    adjusted: list[float] = []
    for i, (name, base) in enumerate(entities, start=1):
        calls.append(Call(i, "search", name, (), search_latency(rng), f"{name}: its {attr} is {_fmt(base)} {unit}."))
    for i, ((name, base), change) in enumerate(zip(entities, changes, strict=True), start=1):
        value = base * (1 + change / 100)
        adjusted.append(value)
        verb = "increased" if change > 0 else "reduced"
        calls.append(
            Call(
                k + i,
                "math",
                f"{name}'s {attr} {verb} by {abs(change)}%",
                (i,),
                math_latency(rng, timing),
                _fmt(value),
                (f"{_fmt(base)} {unit}",),
            )
        )
    answer = _fmt(final_op(adjusted))
    calls.append(
        Call(
            2 * k + 1,
            "math",
            final_text,
            tuple(range(k + 1, 2 * k + 1)),
            math_latency(rng, timing),
            answer,
            tuple(_fmt(v) for v in adjusted),
        )
    )
    # ReAct interleaves: search an entity, adjust it, next entity; then the last calculation.
    order: list[int] = []
    thoughts: list[str] = []
    for i, (name, base) in enumerate(entities, start=1):
        order += [i, k + i]
        thoughts += [
            f"I need to find the {attr} of {name} first."
            if i == 1
            else f"I need to search for the {attr} of {name} next.",
            f"The {attr} of {name} is {_fmt(base)} {unit}. Now I need to apply the change to it.",
        ]
    order.append(2 * k + 1)
    thoughts.append(f"I have all {k} adjusted values. Now I need to compute {final_text}.")
    return _assemble(
        f"parallelqa-{branches}",
        "parallelqa",
        question,
        answer,
        calls,
        {
            1: f"I need the {attr} of all {k}; the searches do not depend on each other.",
            k + 1: f"Each {attr} is adjusted in its own math call, as soon as its search is done.",
            2 * k + 1: "Then one last call combines the adjusted values.",
            2 * k + 2: "I can answer the question now.",
        },
        thoughts,
        f"The searches gave the {attr} of all {k}, each was adjusted by its own change, and the last "
        f"calculation combined the adjusted values into {answer} {unit}, which answers the question.",
        react_order=order,
    )


def chain(depth: int, rng: random.Random, timing: ModelTiming) -> Workload:
    """A chain: a search, then `depth - 1` calculations, each needing the one before."""
    calls = [Call(1, "search", "Bank of England base rate", (), search_latency(rng), "The Bank Rate is 5.25%.")]
    balance = 1000.0
    for year in range(1, depth):
        balance *= 1.0525
        key = (
            f"the balance after year {year} of 1000 pounds saved at this rate"
            if year == 1
            else f"the balance after year {year}, one more year of interest on the balance after year {year - 1}"
        )
        context = "5.25%" if year == 1 else _fmt(balance / 1.0525)
        calls.append(Call(year + 1, "math", key, (year,), math_latency(rng, timing), _fmt(balance), (context,)))
    thoughts = ["I need to find the Bank of England base rate first."] + [
        f"Now I need to compute the balance after year {year} from the one before." for year in range(1, depth)
    ]
    return _assemble(
        f"chain-{depth}",
        "chain",
        f"How much are 1000 pounds worth after {depth - 1} years at the Bank of England base rate, "
        "with interest added every year?",
        _fmt(balance),
        calls,
        {
            1: "I need the base rate first.",
            2: "Every year's balance needs the one before, so the calculations form a chain.",
            depth + 1: "I can answer the question now.",
        },
        thoughts,
        f"The base rate is 5.25%, and adding one year of interest at a time for {depth - 1} years turns 1000 pounds "
        f"into {_fmt(balance)} pounds, which answers the question.",
    )


SMALL = ("hotpotqa", "movie", "parallelqa-2", "parallelqa-3", "parallelqa-4", "parallelqa-5", "chain-10")


def build(name: str, seed: int, timing: ModelTiming) -> Workload:
    rng = random.Random(f"{seed}:{name}")
    if name == "hotpotqa":
        return hotpotqa(rng, timing)
    if name == "movie":
        return movie(rng, timing)
    if name.startswith("parallelqa-"):
        return parallelqa(int(name.split("-")[1]), rng, timing)
    if name.startswith("chain-"):
        return chain(int(name.split("-")[1]), rng, timing)
    raise ValueError(f"unknown workload {name!r}; known: {', '.join(SMALL)}")


def movie_plan_text(seed: int = 0) -> str:
    """The Movie plan (what the calibration is solved for); its text does not depend on latencies."""
    return movie(random.Random(f"{seed}:movie"), ModelTiming(1.0, 1.0)).plan_text


# -- random DAGs ---------------------------------------------------------------------------


def random_dag(n: int, seed: int, max_deps: int = 3) -> tuple[str, list[tuple[int, ...]]]:
    """A plan of n `op(...)` calls; each depends on 0..max_deps random earlier calls."""
    rng = random.Random(f"{seed}:dag:{n}")
    lines = []
    deps_of: list[tuple[int, ...]] = []
    for idx in range(1, n + 1):
        k = min(idx - 1, rng.randint(0, max_deps))
        deps = tuple(sorted(rng.sample(range(1, idx), k))) if k else ()
        deps_of.append(deps)
        lines.append(f"{idx}. op({', '.join(f'${d}' for d in deps)})")
    lines.append(f"{n + 1}. join()<END_OF_PLAN>")
    return "\n".join(lines), deps_of


# -- plan shapes against the bare-asyncio bound ------------------------------------------------

SHAPES = ("fan-out", "chain", "random DAG")


def shape_deps(shape: str, n: int, seed: int) -> list[tuple[int, ...]]:
    """Each call's dependencies (1-based) for a plan of n calls of the given shape.

    fan-out: call 1 feeds every other call; chain: each call depends on the one before;
    random DAG: 0..3 random earlier calls each (`random_dag`).
    """
    if shape == "fan-out":
        return [()] + [(1,)] * (n - 1)
    if shape == "chain":
        return [()] + [(i,) for i in range(1, n)]
    if shape == "random DAG":
        return random_dag(n, seed)[1]
    raise ValueError(f"unknown shape {shape!r}; expected one of {', '.join(SHAPES)}")


def shape_plan(deps: Sequence[tuple[int, ...]]) -> str:
    """The plan text of `op(...)` calls with the given dependencies, ended by join()."""
    lines = [f"{idx}. op({', '.join(f'${d}' for d in ds)})" for idx, ds in enumerate(deps, 1)]
    lines.append(f"{len(deps) + 1}. join()<END_OF_PLAN>")
    return "\n".join(lines)
