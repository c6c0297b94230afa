from clawloop_synth.mine.cards import make_card, normalize_text
from clawloop_synth.mine.taxonomy import FALLBACK_ERROR, UNEXPLAINED, classify_error, is_code, load_taxonomy


def test_table_has_three_level_codes_with_definitions() -> None:
    table = load_taxonomy()
    assert len(table) >= 25
    for code, leaf in table.items():
        assert code.count("/") == 2 and leaf.author in {"agent", "user", "environment"}
        assert leaf.definition and "\n" not in leaf.definition
    assert is_code(FALLBACK_ERROR) and is_code(UNEXPLAINED)


def test_error_texts_classify_to_specific_leaves() -> None:
    cases = {
        "Error: payment amount does not add up, total price is 305, but paid 255": "agent/reasoning/calculation_error",
        "Error: gift card balance is not enough": "agent/action/insufficient_balance",
        "Error: not enough seats on flight HAT290": "agent/action/unavailable_resource",
        "Error: flight HAT030 not available on date 2024-05-13": "agent/action/unavailable_resource",
        "Error: payment method certificate_7504069 not found": "agent/action/entity_not_found",
        "Error: certificate cannot be used to update reservation": "agent/action/invalid_operation",
        "429 Too Many Requests": "environment/system/rate_limit",
        "401 Unauthorized: invalid api key": "environment/system/auth_error",
        "upstream timed out": "environment/system/timeout",
        "503 Service Unavailable": "environment/system/service_unavailable",
        "Internal Server Error": "environment/system/server_error",
        "the moon is made of cheese": FALLBACK_ERROR,
    }
    for text, code in cases.items():
        assert classify_error(text) == code, text


def test_cards_replace_entities_with_placeholders() -> None:
    text = "Error: flight HAT030 on 2024-05-13 at 10:30 costs $1,203.50 for mia_li_3668 (mia@x.com) see https://a.b/c"
    assert normalize_text(text) == (
        "Error: flight <ID> on <DATE> at <TIME> costs <NUM> for <ID> (<EMAIL>) see <URL>")
    card = make_card("agent/action/unavailable_resource", "book", "not enough seats on flight HAT290\n  now")
    assert card == "agent/action/unavailable_resource | book | not enough seats on flight <ID> now"
