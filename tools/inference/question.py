"""Treatment/outcome pairs read from a plain-language question by fixed patterns (nothing is executed).

"effect of X on Y", "impact/influence of X on Y", "does X cause/affect/reduce/lead to Y",
"how does X affect Y", "is Y affected by X", "what happens to Y if we raise X". X and Y must name
columns: exactly (case, spaces and underscores ignored), by naming one exactly in brackets or quotes
("quitting smoking (qsmk)" -> ``qsmk``, which wins over any other reading), by containing a column's name ("the new
drug dose" -> ``drug_dose``), as a run of a column's words ("cancer" -> ``lung_cancer``), or as another form
of the same word ("readmissions" -> ``readmitted``, "smoking" -> ``smoker``): a shared stem of at least four letters covering half the shorter word, and
one column clearly closer than any other. Irregular verbs share no stem ("seeing the ad" -> ``saw_ad``,
"buying" -> ``bought``), so a fixed table of their forms is read first, articles aside. A phrase that matches nothing, or two columns equally
well, is reported back instead of guessed at (``read_question``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

_END = r"(?:[?.!,;]|$)"
_CAUSE_VERBS = (r"cause|affect|influence|increase|decrease|change|reduce|raise|lower|improve|worsen|impact|"
                r"drive|boost|hurt|help|prevent|shorten|lengthen|predict")
PATTERNS = [
    r"(?:effect|effects|impact|influence|consequences?)\s+(?:of|that)\s+(?P<t>.+?)\s+(?:on|upon|has on)\s+(?P<y>.+?)" + _END,
    r"(?:does|do|did|can|could|would|will)\s+(?P<t>.+?)\s+(?:(?:" + _CAUSE_VERBS + r")(?:s|es)?|lead\s+to|"
    r"have\s+(?:an?\s+|any\s+)?(?:causal\s+)?(?:effect|impact|influence)\s+on)\s+(?P<y>.+?)" + _END,
    r"how\s+(?:does|do|did|much\s+does|much\s+do)\s+(?P<t>.+?)\s+(?:" + _CAUSE_VERBS + r")\s+(?P<y>.+?)" + _END,
    r"(?:is|are|was|were)\s+(?P<y>.+?)\s+(?:caused|affected|influenced|driven|changed|reduced|increased)\s+by\s+"
    r"(?P<t>.+?)" + _END,
    r"what\s+happens\s+to\s+(?P<y>.+?)\s+(?:if|when)\s+(?:we\s+|you\s+|i\s+)?(?:raise|lower|increase|decrease|"
    r"change|double|halve|cut|set|remove|add|give|stop)s?\s+(?P<t>.+?)" + _END,
]
_ARTICLES = ("the", "a", "an", "our", "their", "its", "this", "that")
_ARTICLE = re.compile(rf"^(?:{'|'.join(_ARTICLES)})\s+", flags=re.I)
MIN_STEM = 4  # a shared beginning shorter than this ("sal" in sales/salary) is not a shared word
# common irregular verbs, one per line: the base form, then its other forms (regular verbs share a stem
# and are found by _word_form_similarity)
_IRREGULAR = """
see saw seen sees seeing
buy bought buys buying
take took taken takes taking
give gave given gives giving
get got gotten gets getting
go went gone goes going
eat ate eaten eats eating
drink drank drunk drinks drinking
win won wins winning
lose lost loses losing
pay paid pays paying
spend spent spends spending
make made makes making
sell sold sells selling
send sent sends sending
write wrote written writes writing
run ran runs running
leave left leaves leaving
keep kept keeps keeping
feel felt feels feeling
hold held holds holding
meet met meets meeting
teach taught teaches teaching
think thought thinks thinking
bring brought brings bringing
drive drove driven drives driving
ride rode ridden rides riding
fall fell fallen falls falling
grow grew grown grows growing
know knew known knows knowing
hear heard hears hearing
sleep slept sleeps sleeping
choose chose chosen chooses choosing
speak spoke spoken speaks speaking
break broke broken breaks breaking
forget forgot forgotten forgets forgetting
wear wore worn wears wearing
begin began begun begins beginning
swim swam swum swims swimming
feed fed feeds feeding
lead led leads leading
find found finds finding
build built builds building
lend lent lends lending
fly flew flown flies flying
sit sat sits sitting
stand stood stands standing
tell told tells telling
say said says saying
show showed shown shows showing
shake shook shaken shakes shaking
fight fought fights fighting
catch caught catches catching
seek sought seeks seeking
undergo underwent undergone undergoes undergoing
quit quits quitting
hit hits hitting
cut cuts cutting
put puts putting
"""
_BASE = {form: line.split()[0] for line in _IRREGULAR.split("\n") if line for form in line.split()}


def _norm(s: str) -> str:
    return re.sub(r"[\s_\-]+", "", s.lower())


def _shared_start(a: str, b: str) -> int:
    k = 0
    while k < min(len(a), len(b)) and a[k] == b[k]:
        k += 1
    return k


def _word_form_similarity(a: str, b: str) -> float:
    """How likely ``a`` and ``b`` are forms of the same word: 0 unless they share a stem of at least
    MIN_STEM letters that covers half the shorter one, else their difflib ratio."""
    start = _shared_start(a, b)
    if start < max(MIN_STEM, (min(len(a), len(b)) + 1) // 2):
        return 0.0
    return SequenceMatcher(None, a, b).ratio()


def _words(column: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", column)  # camelCase -> camel Case
    return [w for w in re.split(r"[\s_\-/.]+", spaced.lower()) if w]


def _is_run_of(words: list[str], other_words: list[str], proper: bool = True) -> bool:
    """Whether ``words`` appear in a row among ``other_words``, a plural 's' aside. ``proper``: as a
    strict part of at least four letters (a phrase standing for a longer column name)."""
    if not words or len(words) > len(other_words):
        return False
    if proper and (sum(map(len, words)) < MIN_STEM or len(words) == len(other_words)):
        return False
    one = [w.removesuffix("s") for w in words]
    other = [w.removesuffix("s") for w in other_words]
    return any(other[i:i + len(one)] == one for i in range(len(other) - len(one) + 1))


@dataclass
class PhraseMatch:
    phrase: str
    column: str | None
    how: str  # "exact" | "named" | "contains" | "part of name" | "word form" | "none" | "ambiguous"
    candidates: list[str] = field(default_factory=list)


def match_phrase(phrase: str, columns: list[str]) -> PhraseMatch:
    """The column a phrase of the question names, and how it was recognised."""
    cleaned = _ARTICLE.sub("", phrase.strip())
    p = _norm(cleaned)
    exact = [c for c in columns if _norm(c) == p]
    if exact:
        return PhraseMatch(phrase, exact[0], "exact")
    # a column named exactly in brackets or quotes wins: "quitting smoking (qsmk)", "the incentive `any`"
    named = {c for inner in re.findall(r"[(\[\"'`]\s*([^()\[\]\"'`]+?)\s*[)\]\"'`]", cleaned)
             for c in columns if c.lower() == inner.lower()}
    if len(named) == 1:
        return PhraseMatch(phrase, named.pop(), "named")
    # a column's name inside the phrase, as whole words ("the new drug dose" -> drug_dose; "wage" is not "age");
    # brackets, quotes and commas around a word are not part of it
    words = [w for w in re.split(r"[\s_\-/()\[\]\"'`,:;]+", cleaned.lower()) if w]
    inside = [c for c in columns if _is_run_of(_words(c), words, proper=False)
              or (len(_norm(c)) >= 6 and _norm(c) in p)]
    if inside:
        longest = max(len(_norm(c)) for c in inside)
        best = [c for c in inside if len(_norm(c)) == longest]
        if len(best) == 1:
            return PhraseMatch(phrase, best[0], "contains")
        return PhraseMatch(phrase, None, "ambiguous", best)
    # the phrase is part of one column's name, word for word ("cancer" -> lung_cancer, "drug" -> new_drug)
    part_of = [c for c in columns if _is_run_of(words, _words(c))]
    if len(part_of) == 1:
        return PhraseMatch(phrase, part_of[0], "part of name")
    if len(part_of) > 1:
        return PhraseMatch(phrase, None, "ambiguous", part_of)
    # the same words up to irregular verb forms and articles ("seeing the ad" -> saw_ad)
    if any(w in _BASE for w in words):
        base = [_BASE.get(w, w) for w in words if w not in _ARTICLES]
        same = [c for c in columns if [_BASE.get(w, w) for w in _words(c)] == base]
        if len(same) == 1:
            return PhraseMatch(phrase, same[0], "word form")
        if len(same) > 1:
            return PhraseMatch(phrase, None, "ambiguous", same)
    # another form of a word: compare each column with the phrase's words and runs of up to three words
    spans = {"".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, min(len(words), i + 3) + 1)}
    scored = sorted(((max((_word_form_similarity(s, _norm(c)) for s in spans), default=0.0), c) for c in columns),
                    reverse=True)
    if not scored or scored[0][0] < 0.5:
        return PhraseMatch(phrase, None, "none")
    close = [c for s, c in scored if s >= scored[0][0] - 0.1]
    if len(close) > 1:
        return PhraseMatch(phrase, None, "ambiguous", close)
    return PhraseMatch(phrase, scored[0][1], "word form")


@dataclass
class QuestionReading:
    pairs: list[tuple[str, str]]
    matches: list[PhraseMatch]  # every phrase the patterns picked out, matched or not
    asked: bool  # whether any pattern recognised a cause/effect question at all

    def explain_failure(self) -> str:
        """One sentence on why no pair came out of the question (for the report and the console)."""
        if not self.asked:
            return ("the question does not have a form the rules planner reads as a treatment and an outcome "
                    "(\"what is the effect of X on Y\", \"does X affect Y\")")
        bad = [m for m in self.matches if m.column is None]
        parts = []
        for m in bad:
            if m.how == "ambiguous":
                parts.append(f"\"{m.phrase.strip()}\" could be any of {', '.join(m.candidates)}")
            else:
                parts.append(f"\"{m.phrase.strip()}\" matches no column")
        return "; ".join(dict.fromkeys(parts)) or "the question names the same column as treatment and outcome"


def read_question(question: str | None, columns: list[str]) -> QuestionReading:
    if not question:
        return QuestionReading([], [], False)
    pairs, matches, asked = [], [], False
    for pat in PATTERNS:
        for m in re.finditer(pat, question[:1000], flags=re.I):
            asked = True
            t, y = match_phrase(m.group("t"), columns), match_phrase(m.group("y"), columns)
            matches += [t, y]
            if t.column and y.column and t.column != y.column and (t.column, y.column) not in pairs:
                pairs.append((t.column, y.column))
    return QuestionReading(pairs, matches, asked)
