//! Phone number and WABA reads (§12.2, §12.8, §8) and `subscribed_apps` (§4.6).

use std::collections::HashMap;

use axum::Json;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::Emulator;
use crate::state::NumberState;

fn number_json(em: &Emulator, n: &NumberState) -> Value {
    let level = if n.spec.throughput_mps >= 1000 {
        "HIGH"
    } else {
        "STANDARD"
    };
    json!({
        "verified_name": n.spec.verified_name,
        "code_verification_status": "VERIFIED",
        "display_phone_number": format_display(&n.spec.display_phone_number),
        "quality_rating": n.quality,
        "platform_type": "CLOUD_API",
        "throughput": {"level": level},
        "whatsapp_business_manager_messaging_limit": em.config().messaging_limit.as_str(),
        "status": if n.restricted { "RESTRICTED" } else { n.status.as_str() },
        "name_status": "APPROVED",
        "is_official_business_account": false,
        "id": n.spec.phone_number_id,
    })
}

/// `15550783881` → `+1 555-078-3881` (as Meta shows North American numbers); others `+` digits.
fn format_display(digits: &str) -> String {
    if digits.len() == 11 && digits.starts_with('1') {
        format!("+1 {}-{}-{}", &digits[1..4], &digits[4..7], &digits[7..])
    } else {
        format!("+{digits}")
    }
}

/// Keeps only the requested `fields` (and `id`), as Graph does.
fn select(v: Value, q: &HashMap<String, String>) -> Value {
    let Some(fields) = q.get("fields") else {
        return v;
    };
    let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
    let Value::Object(map) = v else { return v };
    Value::Object(
        map.into_iter()
            .filter(|(k, _)| k == "id" || wanted.contains(&k.as_str()))
            .collect(),
    )
}

pub fn phone_number(em: &Emulator, id: &str, q: &HashMap<String, String>) -> Response {
    let st = em.state();
    let n = &st.numbers[id];
    Json(select(number_json(em, n), q)).into_response()
}

pub fn phone_numbers(em: &Emulator, q: &HashMap<String, String>) -> Response {
    let st = em.state();
    let mut data: Vec<Value> = st
        .numbers
        .values()
        .map(|n| select(number_json(em, n), q))
        .collect();
    data.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Json(json!({"data": data})).into_response()
}

pub fn waba(em: &Emulator, q: &HashMap<String, String>) -> Response {
    let c = em.config();
    let v = json!({
        "id": c.waba_id,
        "name": "Emulated WhatsApp Business Account",
        "currency": "USD",
        "timezone_id": "1",
        "message_template_namespace": "emulator_namespace",
        "account_review_status": "APPROVED",
        "business_verification_status": "verified",
        "country": c.business_country,
        "whatsapp_business_manager_messaging_limit": c.messaging_limit.as_str(),
        "health_status": {"can_send_message": "AVAILABLE"},
    });
    Json(select(v, q)).into_response()
}

pub fn subscribed_apps(em: &Emulator, method: &Method) -> Response {
    let mut st = em.state();
    match *method {
        Method::POST => {
            st.subscribed_apps = true;
            Json(json!({"success": true})).into_response()
        }
        Method::DELETE => {
            st.subscribed_apps = false;
            Json(json!({"success": true})).into_response()
        }
        _ => {
            let data = if st.subscribed_apps {
                vec![
                    json!({"whatsapp_business_api_data": {"id": em.config().app_id, "link": "https://www.example.com/", "name": "Switchboard"}}),
                ]
            } else {
                vec![]
            };
            Json(json!({"data": data})).into_response()
        }
    }
}
