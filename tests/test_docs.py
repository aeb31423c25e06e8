"""The documentation stands alone, and the conventions docs/semantics.md states hold in the code.

(a) nothing in docs/, README.md or the package sources points at files outside the repository;
(b) every relative markdown link in README.md and docs/*.md resolves to a file in the repository (and, for
    links into a markdown file, to one of its headings);
(c) the bidirectional convention of docs/semantics.md (the backward direction reads strictly future inputs)
    holds for models.reference.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, make_net

from models import reference
from models.discretize import DiscreteSSM, discretize

DOCS = ROOT / "docs"
SEMANTICS = DOCS / "semantics.md"
CODE_DIRS = ("models", "simulator", "energy", "scenarios", "benchmarks")
OUTSIDE = ("PAPER.md", "../shared")


# ---- (a) no references to files that are not in the repository -------------------------------------------

def _scanned_files() -> list[Path]:
    files = [ROOT / "README.md"] + [p for p in sorted(DOCS.rglob("*")) if p.is_file()]
    for d in CODE_DIRS:
        files += sorted((ROOT / d).rglob("*.py"))
    return files


def test_no_reference_to_files_outside_the_repository():
    hits = []
    for path in _scanned_files():
        for no, line in enumerate(path.read_bytes().split(b"\n"), 1):
            for name in OUTSIDE:
                if name.encode() in line:
                    hits.append(f"{path.relative_to(ROOT)}:{no}: {name}")
    assert not hits, "references to files that are not in the repository:\n" + "\n".join(hits)


# ---- (b) relative links resolve ---------------------------------------------------------------------------

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _prose(text: str) -> str:
    """Markdown without code blocks and inline code, where link syntax is not a link."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def links(text: str) -> list[str]:
    prose = _prose(text)
    return LINK.findall(prose) + REF_DEF.findall(prose)


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    out = set()
    for title in HEADING.findall(FENCE.sub("", text)):
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(md: Path, root: Path = ROOT) -> list[str]:
    bad = []
    text = md.read_text(encoding="utf-8")
    for target in links(text):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            continue  # http:, https:, mailto: ...
        path, _, frag = target.partition("#")
        dest = md if not path else (md.parent / path).resolve()
        if path and (root.resolve() not in dest.parents or not dest.exists()):
            bad.append(f"{md.relative_to(root)}: {target} (no such file in the repository)")
        elif frag and dest.suffix == ".md" and dest.is_file() and frag not in anchors(dest.read_text(encoding="utf-8")):
            bad.append(f"{md.relative_to(root)}: {target} (no heading #{frag} in {dest.name})")
    return bad


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md"] + sorted(DOCS.glob("*.md"))


@pytest.mark.parametrize("md", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(md):
    bad = broken_links(md)
    assert not bad, "broken links:\n" + "\n".join(bad)


def test_link_checker_catches_what_it_should(tmp_path):
    """The checker itself: a missing file, a missing heading and a link out of the repository are caught;
    code spans, code blocks and web links are not links to check."""
    (tmp_path / "a.md").write_text("# Title\n\n## Two words (here)\n")
    md = tmp_path / "b.md"
    md.write_text("[ok](a.md) [ok](a.md#two-words-here) [ok](#own) [web](https://x.org/y.md)\n# Own\n"
                  "`[code](gone.md)`\n```\n[block](gone.md)\n```\n"
                  "[bad](gone.md) [bad](a.md#nope) ![bad](../../outside.png)\n[ref]: missing.md\n")
    bad = broken_links(md, root=tmp_path)
    assert len(bad) == 4, bad
    assert [b.split(": ", 1)[1].split(" ")[0] for b in bad] == ["gone.md", "a.md#nope", "../../outside.png",
                                                               "missing.md"]


# ---- (c) the bidirectional convention ---------------------------------------------------------------------

def _backward_only(d: DiscreteSSM) -> DiscreteSSM:
    """The same SSM with the forward readout and the skip term removed: its output is the backward term."""
    return DiscreteSSM(Ab=d.Ab, Bb=d.Bb, C=np.stack([np.zeros_like(d.C[0]), d.C[1]]), D=np.zeros_like(d.D))


def future_only_violations(ssm, d: DiscreteSSM, u: np.ndarray, tol: float = 1e-10) -> list[str]:
    """Where the backward term yb = ssm(d_backward, u) breaks the stated convention: yb_t must not move when
    u_s (s <= t) moves, must move by K1[0] when u_{t+1} moves, and yb_{L-1} must be 0."""
    db = _backward_only(d)
    L = u.shape[1]
    k1_0 = 2.0 * np.sum(d.C[1] * d.Bb, axis=-1).real          # (H,) K1[0], the weight of u_{t+1}
    yb = ssm(db, u)
    out = []
    if np.max(np.abs(yb[:, L - 1])) > tol:
        out.append("yb at the last step is not 0")
    for t in range(L - 1):
        for s in (t - 1, t, t + 1):
            if s < 0:
                continue
            v = u.copy()
            v[:, s] += 1.0
            delta = ssm(db, v)[:, t] - yb[:, t]
            if s <= t and np.max(np.abs(delta)) > tol:
                out.append(f"yb_{t} depends on u_{s}")
            if s == t + 1 and not np.allclose(delta, k1_0, rtol=1e-9, atol=tol):
                out.append(f"yb_{t} does not move by K1[0] when u_{t + 1} moves")
    return out


def _tiny(directions: int):
    net, _ = make_net(directions=directions, H=4, N=4, n_layers=1, dt_min=0.05, dt_max=0.5)
    return net


def test_semantics_states_the_convention():
    text = SEMANTICS.read_text(encoding="utf-8")
    assert "strictly future" in text and "K1[s-t-1]" in text


def test_backward_direction_reads_only_strictly_future_inputs(rng):
    net = _tiny(directions=2)
    d = discretize(net.blocks[0].ssm, net.disc)
    assert np.min(np.abs(2.0 * np.sum(d.C[1] * d.Bb, axis=-1).real)) > 1e-3  # the check below has teeth
    u = rng.normal(size=(2, 9, net.H))
    assert future_only_violations(reference.ssm_fft, d, u) == []


def test_strictly_future_check_catches_a_backward_term_that_reads_the_present(rng):
    """The same check fails for the other common convention, yb_t = sum_{s>=t} K1[s-t] u_s."""
    net = _tiny(directions=2)
    d = discretize(net.blocks[0].ssm, net.disc)

    def inclusive(dd, u):
        K = reference.ssm_kernels(dd, u.shape[1])[1]           # (H, L)
        L = u.shape[1]
        return np.stack([sum(K[:, s - t] * u[:, s] for s in range(t, L)) for t in range(L)], axis=1)

    u = rng.normal(size=(2, 9, net.H))
    assert future_only_violations(inclusive, d, u) != []


def test_network_outputs_see_the_future_only_when_bidirectional(rng):
    """Through models.reference.forward: the first layer's y_t moves with x_{t+1} in a bidirectional network
    and does not in a unidirectional one (which is causal: nothing after t reaches y_t)."""
    x = rng.normal(size=(1, 9, 1))
    t = 4
    later = x.copy()
    later[:, t + 1:] += 1.0
    for directions, moves in ((1, False), (2, True)):
        net = _tiny(directions)
        y0 = reference.forward(net, x).layers[0].pre[:, t]
        y1 = reference.forward(net, later).layers[0].pre[:, t]
        assert (np.max(np.abs(y1 - y0)) > 1e-6) == moves, directions
