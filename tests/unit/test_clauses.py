"""Clause types: the taxonomy, the shipped classifier and the product's own example."""

from __future__ import annotations

import pytest

from atlas_crawl.clauses.classify import classify, guess_language
from atlas_crawl.clauses.taxonomy import TaxonomyError, parse_taxonomy, taxonomy

LINKEDIN = (
    "We use your personal data, including your posts and activity, to train AI and "
    "generative AI models. You can opt-out in your settings."
)
ADOBE = (
    "Analyzing your content and its characteristics using automated techniques ... Where "
    "we process your information based on legitimate interests, you can object to this "
    "processing in certain circumstances"
)
SLACK = (
    "To develop and provide search, learning and productivity tools and additional "
    "features ... improve search functionality by using Other Information to help "
    "determine and rank the relevance of content"
)


def _types(text: str, lang: str | None = "en") -> dict[str, str]:
    return {f.type: f.severity for f in classify([text], [lang])[0]}


def test_the_taxonomy_has_the_types_the_product_needs() -> None:
    version, types = taxonomy()
    assert version
    claudette = {"arbitration", "unilateral-change", "content-removal", "jurisdiction",
                 "choice-of-law", "limitation-of-liability", "unilateral-termination",
                 "contract-by-using", "privacy-included"}  # fmt: skip
    assert claudette <= set(types) and "ai-training" in types and len(types) >= 20
    for clause in types.values():
        assert clause.regulations and clause.what_you_can_do and clause.why_it_matters


def test_a_bad_taxonomy_is_refused_naming_the_place() -> None:
    with pytest.raises(TaxonomyError, match=r"types\.x: missing"):
        parse_taxonomy({"version": "1", "types": {"x": {"title": "X"}}})
    bad = {"title": "X", "source": "rules", "default_severity": "severe", "description": "d",
           "why_it_matters": "w", "consumer_impact": "c", "what_you_can_do": "y"}  # fmt: skip
    with pytest.raises(TaxonomyError, match="default_severity"):
        parse_taxonomy({"version": "1", "types": {"x": bad}})


def test_the_products_own_example() -> None:
    assert _types(LINKEDIN)["ai-training"] == "high"
    assert _types(ADOBE)["ai-training"] == "medium"
    assert _types(SLACK)["ai-training"] == "medium"


def test_unfair_terms_in_four_languages() -> None:
    arbitration = {
        "en": "Any dispute shall be resolved exclusively by binding arbitration, and you "
        "waive your right to participate in a class action.",
        "de": "Alle Streitigkeiten werden ausschließlich durch ein verbindliches "
        "Schiedsverfahren beigelegt, und Sie verzichten auf Sammelklagen.",
        "it": "Qualsiasi controversia sarà risolta esclusivamente mediante arbitrato "
        "vincolante e l'utente rinuncia alle azioni collettive.",
        "pl": "Wszelkie spory będą rozstrzygane wyłącznie w drodze wiążącego arbitrażu, a "
        "użytkownik zrzeka się prawa do pozwu zbiorowego.",
    }
    for lang, text in arbitration.items():
        assert guess_language(text) == lang
        assert "arbitration" in _types(text, None), lang
    liability = (
        "To the maximum extent permitted by law, we shall not be liable for any indirect, "
        "incidental or consequential damages or any loss of data or profits."
    )
    assert _types(liability).get("limitation-of-liability") in ("medium", "high")
    assert _types("Thank you for choosing our service, we hope you enjoy it.") == {}


def test_findings_carry_their_evidence_and_confidence() -> None:
    found = classify([LINKEDIN], ["en"])[0]
    ai = next(f for f in found if f.type == "ai-training")
    assert "train" in ai.evidence and 0 < ai.confidence <= 1
    # A learned type's evidence: words of the text itself (n-grams, strongest first).
    text = "You and we will resolve any dispute by binding arbitration, not in court."
    arbitration = next(f for f in classify([text], ["en"])[0] if f.type == "arbitration")
    pieces = arbitration.evidence.split("; ")
    assert pieces and all(p in text.lower() for p in pieces), arbitration.evidence
    assert any("arbitration" in p or "binding" in p for p in pieces)


def test_provisions_are_read_sentence_by_sentence() -> None:
    from atlas_crawl.clauses.sentences import sentences

    text = (
        "## 3. Generative AI\n\nWe may share data with partners, e.g. Google, under Art. 6 "
        'GDPR. See [our settings](https://example.com/s) to opt out! "Quoted." Next.\n\n'
        "- **First** item; still the first.\n- Second item"
    )
    assert sentences(text) == [
        "Generative AI",
        "We may share data with partners, e.g. Google, under Art. 6 GDPR.",
        "See our settings to opt out!",
        '"Quoted."',
        "Next.",
        "First item; still the first.",
        "Second item",
    ]
    assert sentences("") == [] and sentences("x" * 4500) == ["x" * 2000, "x" * 2000, "x" * 500]
    # A table's cells are statements of their own: a heading beside its clause is not
    # part of the clause's sentence; the rule under the table's head is no sentence.
    table = (
        "| Section | What it says |\n|---|:--:|\n"
        "| [M. Termination](#m-termination) | You may close your Account at any time. |"
    )
    assert sentences(table) == [
        "Section",
        "What it says",
        "M. Termination",
        "You may close your Account at any time.",
    ]


def test_a_denial_is_low_and_does_not_reach_the_next_sentence() -> None:
    denied = "We do not use your personal data or content to train generative AI models."
    assert _types(denied)["ai-training"] == "low"
    both = "We never sell your personal information. We train generative AI models on your posts."
    assert _types(both) == {"ai-training": "high", "sale-of-data": "low"}
    # A provision of several sentences takes the worst severity any of them has.
    assert _types(f"{denied} {LINKEDIN}")["ai-training"] == "high"


def test_what_raises_a_severity() -> None:
    from atlas_crawl.storage.classifications import raised

    assert raised(None, {"ai-training": "high", "user-rights": "low"}) == [
        ("ai-training", "new-high", None, "high")
    ]
    assert raised(None, {"arbitration": "medium"}) == []
    assert raised({"ai-training": "low"}, {"ai-training": "high"}) == [
        ("ai-training", "raised", "low", "high")
    ]
    assert raised({}, {"arbitration": "medium", "user-rights": "low"}) == [
        ("arbitration", "raised", None, "medium")
    ]
    assert raised({"arbitration": "high"}, {"arbitration": "medium"}) == []


def test_texts_without_words_have_no_types() -> None:
    # A section break ("* * *") or an image-only provision has no sentence: nothing to
    # read, and no error.
    assert classify([]) == []
    assert classify(["", "* * *", "![](https://x.example/logo.png)"]) == [[], [], []]


def test_a_types_unfair_head_counts_only_where_the_gate_opens() -> None:
    """Model 3: the head trained on "unfair at all" is a second opinion on every type."""
    import numpy as np
    from scipy import sparse

    from atlas_crawl.clauses.features import CHAR_FEATURES, WORD_FEATURES
    from atlas_crawl.clauses.model import GATE_HEAD, ClauseModel, shipped_model

    def model(gate: float) -> ClauseModel:
        heads = [GATE_HEAD, "arbitration:unfair", "arbitration:fair"]
        features = WORD_FEATURES + CHAR_FEATURES
        weights = sparse.csr_matrix((features, len(heads)), dtype=np.float32)
        intercepts = np.array([gate, 1.0, 0.5], dtype=np.float32)
        return ClauseModel("test", heads, weights, intercepts, np.ones(features), {})

    text = ["Disputes go to binding arbitration."]
    assert [(f.type, f.severity) for f in model(1.0).find(text)[0]] == [("arbitration", "medium")]
    # Closed: the type's unfair head is overruled; its fair head still speaks.
    assert [(f.type, f.severity) for f in model(-1.0).find(text)[0]] == [("arbitration", "low")]
    assert GATE_HEAD in shipped_model().heads and int(shipped_model().version) >= 3


def test_only_what_reads_as_prose_is_read_by_the_model() -> None:
    """An address or a heading is no clause, whatever city or word it names."""
    address = (
        "[pages.github.com](https://pages.github.com)\nGitHub, Inc.\n88 Colin P. Kelly Jr. "
        "St.\nSan Francisco\nCA 94107\nUnited States of America"
    )
    assert _types(address) == {}
    forum = (
        "You and npm will seek injunctions related to this agreement only in state or "
        "federal court in San Francisco, California."
    )
    assert _types(forum).get("jurisdiction") in ("medium", "high")
    shouted = (
        "TO THE MAXIMUM EXTENT PERMITTED BY LAW, WE SHALL NOT BE LIABLE FOR ANY INDIRECT, "
        "INCIDENTAL OR CONSEQUENTIAL DAMAGES OR ANY LOSS OF DATA OR PROFITS."
    )
    assert _types(shouted).get("limitation-of-liability") in ("medium", "high")


def test_a_definition_names_practices_without_engaging_in_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from atlas_crawl.clauses import rules

    definitions = [
        "- “Personal data”: means any information relating to an identified or "
        "identifiable natural person, such as a name, location data or biometrics.",
        '"Sale of personal information" means selling, renting or releasing it to others.',
        "„Personenbezogene Daten“ bezeichnet alle Informationen über eine Person, etwa ihre "
        "Standortdaten.",
    ]
    practices = {"precise-location", "biometric-data", "sale-of-data"}
    for text in definitions:
        assert not practices & set(_types(text, None)), text
    # Each of them names a practice the patterns know: read as a statement, it is found.
    monkeypatch.setattr(rules, "is_definition", lambda sentence: False)
    for text in definitions:
        assert practices & set(_types(text, None)), text
    monkeypatch.undo()
    assert (
        _types("We collect precise location data from your device.").get("precise-location")
        == "high"
    )
    # "This means" explains a practice, "by automated means" is a noun: neither defines.
    assert "precise-location" in _types("This means we share your location data with partners.")
    assert "ai-training" in _types(
        "By using automated means to collect Content for the purpose of training any "
        "artificial intelligence model, you agree to these additional terms."
    )


def test_a_users_own_right_to_leave_is_no_unilateral_termination() -> None:
    """The taxonomy's low patterns of a learned type re-grade what the model found."""
    for text, lang in [
        ("You may close your Account at any time.", "en"),
        ("You may terminate these Terms at any time by closing your account.", "en"),
        ("Sie können Ihr Konto jederzeit kündigen.", "de"),
    ]:
        assert _types(text, lang).get("unilateral-termination") == "low", text
    # The provider's power stays what the model says, in the same sentence or alone.
    for text in [
        "We may terminate your account at any time without notice.",
        "You may close your account at any time, and we may suspend it for any reason.",
    ]:
        assert _types(text).get("unilateral-termination") in ("medium", "high"), text
    # A provision is as unfair as its worst sentence.
    both = "You may close your account at any time. We may terminate it without notice."
    assert _types(both).get("unilateral-termination") in ("medium", "high")


# Sentences written for this test (in no corpus), one or two per CLAUDETTE type.
UNSEEN_EXAMPLES = {
    "arbitration": "All disputes arising out of these terms shall be finally resolved by binding "
    "arbitration administered by the American Arbitration Association.",
    "unilateral-change": "We may revise these terms at any time without notice, and your "
    "continued use means you accept the revised terms.",
    "content-removal": "We may remove or disable any content you post at our sole discretion "
    "and without notice to you.",
    "jurisdiction": "You agree to submit to the exclusive jurisdiction of the courts located in "
    "Santa Clara County, California.",
    "choice-of-law": "These terms are governed by the laws of the State of Delaware, without "
    "regard to its conflict of law rules.",
    "limitation-of-liability": "In no event will we be liable for any indirect, incidental or "
    "consequential damages, or for any loss of data or profits.",
    "unilateral-termination": "We may suspend or terminate your account at any time, for any "
    "reason or no reason, without notice.",
    "contract-by-using": "By accessing or using the service you agree to be bound by these terms.",
}


def test_model_4_finds_each_claudette_type_in_sentences_it_never_saw() -> None:
    for clause, sentence in UNSEEN_EXAMPLES.items():
        found = {f.type: f.severity for f in classify([sentence], ["en"])[0]}
        assert found.get(clause) in ("medium", "high"), (clause, found)


def test_model_4_carries_both_corpora_and_learns_pinc_from_annotated_sentences_only() -> None:
    from atlas_crawl.clauses.model import shipped_model
    from atlas_crawl.clauses.train import EXTRA, fit

    model = shipped_model()
    assert model.version == "4"
    assert "Galassi" in model.meta["attribution"] and "Lippi, Pałka" in model.meta["attribution"]
    # The extra corpus repeats the annotated pinc clauses untagged: read as evidence, they
    # would cancel them; the pinc head is trained without the extra sentences at all.
    pinc = [f"We may share your personal data with advertisers and partners {i}."
            for i in range(12)]  # fmt: skip
    other = [f"You can contact our support team by e-mail {i}." for i in range(12)]
    annotated = [{"doc": "a", "lang": "en", "text": t, "tags": ["pinc2"]} for t in pinc] + [
        {"doc": "a", "lang": "en", "text": t, "tags": []} for t in other
    ]
    extra = [{"doc": f"b{k}", "lang": "en", "text": t, "tags": [], "source": EXTRA}
             for k in range(3) for t in pinc]  # fmt: skip
    trained = fit(annotated + extra)
    head = trained.heads.index("privacy-included:unfair")
    # As sure as without them (about 0.8); counted as negatives they bring it to about 0.1.
    assert trained.scores([pinc[0]])[0][head] > 0.5 > 0 > trained.scores([other[0]])[0][head]
