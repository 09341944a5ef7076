use super::*;
use serde_json::json;

fn rules(t: Value) -> Vec<&'static str> {
    let mut r: Vec<_> = lint(&t).into_iter().map(|f| f.rule).collect();
    r.sort_unstable();
    r.dedup();
    r
}

#[test]
fn a_clean_utility_template_has_no_findings() {
    let t = json!({"name": "order_shipped", "language": "en_US", "category": "UTILITY", "components": [
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped and arrives tomorrow.", "example": {"body_text": [["Ann", "42"]]}}]});
    assert_eq!(rules(t), Vec::<&str>::new());
}

#[test]
fn variable_rules() {
    let body = |text: &str| {
        json!({"name": "t", "language": "en", "category": "MARKETING", "components": [
        {"type": "BODY", "text": text, "example": {"body_text": [["a", "b"]]}}]})
    };
    assert!(
        rules(body("{{1}} hello there friend {{2}} ok and more words"))
            .contains(&"variable_at_start")
    );
    assert!(
        rules(body("Hello there friend {{1}} and more words {{2}}.")).contains(&"variable_at_end")
    );
    assert!(
        rules(body("Hello there {{1}}{{2}} and more words here")).contains(&"variables_adjacent")
    );
    assert!(
        rules(body("Hello there {{1}} and {{3}} more words here"))
            .contains(&"variables_not_sequential")
    );
    assert!(
        rules(body("Hello there {{ first name }} more words here")).contains(&"variable_malformed")
    );
    assert!(rules(body("Hello there {{1} more words here")).contains(&"variable_malformed"));
}

#[test]
fn promotional_wording_in_utility_is_flagged_on_word_boundaries() {
    let t = |text: &str| {
        json!({"name": "t", "language": "en", "category": "UTILITY", "components": [
        {"type": "BODY", "text": text}]})
    };
    assert_eq!(
        rules(t("Your wholesale account was updated today.")),
        Vec::<&str>::new()
    );
    assert_eq!(
        rules(t("Your order shipped. Enjoy 20% off your next one!")),
        vec!["category_promotional"]
    );
    assert_eq!(
        rules(t("Your order shipped. Shop now for more.")),
        vec!["category_promotional"]
    );
}
