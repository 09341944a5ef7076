//! Template sends (§2.9): name, language and the parameters of the components that have variables.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{BuildError, MediaObject, OutboundLocation, check_len};
use crate::wire::{
    Extra, Flexible, TypeKeyed, put_content, take_content, type_keyed_enum, wire_struct,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub name: String,
    pub language: Language,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub components: Option<Vec<Component>>,
    #[serde(flatten)]
    pub extra: Extra,
}

wire_struct! {
    pub struct Language {
        /// Exactly the locale the template was created in (`en`, `en_US`, `pt_BR`).
        pub code: String,
        /// Only `deterministic` is accepted.
        pub policy: String,
    }
}

wire_struct! {
    /// `header`, `body`, `button` (with `sub_type` and `index`), `carousel`, …
    pub struct Component {
        #[serde(rename = "type")]
        pub kind: String,
        pub sub_type: String,
        /// `"0"` to `"9"`: a string in Meta's docs; some clients send a number, which Meta accepts.
        pub index: Flexible,
        pub parameters: Vec<Parameter>,
        pub cards: Vec<Value>,
    }
}

impl Template {
    pub fn new(name: impl Into<String>, language: impl Into<String>) -> Result<Self, BuildError> {
        let (name, code) = (name.into(), language.into());
        check_len("template name", &name, 512)?;
        check_len("language code", &code, 16)?;
        Ok(Template {
            name,
            language: Language {
                code: Some(code),
                ..Default::default()
            },
            components: None,
            extra: Extra::new(),
        })
    }

    fn push(&mut self, c: Component) {
        self.components.get_or_insert_with(Vec::new).push(c);
    }

    /// The header's single parameter (text, or media without caption).
    pub fn header(mut self, param: Parameter) -> Self {
        self.push(Component {
            kind: Some("header".into()),
            parameters: Some(vec![param]),
            ..Default::default()
        });
        self
    }

    /// Body parameters, positional (in order) or named (each with `parameter_name`); not mixed.
    pub fn body(mut self, params: Vec<Parameter>) -> Result<Self, BuildError> {
        let named = params.iter().filter(|p| p.parameter_name.is_some()).count();
        if named != 0 && named != params.len() {
            return Err(BuildError::Invalid(
                "body parameters must be all named or all positional",
            ));
        }
        self.push(Component {
            kind: Some("body".into()),
            parameters: Some(params),
            ..Default::default()
        });
        Ok(self)
    }

    /// A button's parameter: `sub_type` is `quick_reply` (payload), `url` (text suffix),
    /// `copy_code` (coupon code), `flow`, `catalog`, `mpm`.
    pub fn button(
        mut self,
        sub_type: &str,
        index: u8,
        param: Parameter,
    ) -> Result<Self, BuildError> {
        if index > 9 {
            return Err(BuildError::Invalid("a button index is 0 to 9"));
        }
        self.push(Component {
            kind: Some("button".into()),
            sub_type: Some(sub_type.into()),
            index: Some(Flexible::String(index.to_string())),
            parameters: Some(vec![param]),
            ..Default::default()
        });
        Ok(self)
    }

    /// Components of a given type (Meta accepts `body` and `BODY` alike).
    pub fn components_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Component> {
        self.components.iter().flatten().filter(move |c| {
            c.kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case(kind))
        })
    }
}

/// One template parameter: `{"type": "text", "text": "Pablo", "parameter_name": "first_name"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawParameter", into = "RawParameter")]
pub struct Parameter {
    pub value: ParamValue,
    pub parameter_name: Option<String>,
    pub extra: Extra,
}

type_keyed_enum! {
    pub enum ParamValue {
        Text(String) = "text",
        Currency(Currency) = "currency",
        DateTime(DateTime) = "date_time",
        Image(MediaObject) = "image",
        Video(MediaObject) = "video",
        Document(MediaObject) = "document",
        Location(OutboundLocation) = "location",
        Product(Value) = "product",
        Payload(String) = "payload",
        CouponCode(String) = "coupon_code",
        Action(Value) = "action",
    }
}

impl Parameter {
    pub fn text(text: impl Into<String>) -> Self {
        Parameter {
            value: ParamValue::Text(text.into()),
            parameter_name: None,
            extra: Extra::new(),
        }
    }
    pub fn named(name: impl Into<String>, text: impl Into<String>) -> Self {
        Parameter {
            parameter_name: Some(name.into()),
            ..Parameter::text(text)
        }
    }
    pub fn payload(payload: impl Into<String>) -> Self {
        Parameter {
            value: ParamValue::Payload(payload.into()),
            parameter_name: None,
            extra: Extra::new(),
        }
    }
    pub fn coupon_code(code: impl Into<String>) -> Self {
        Parameter {
            value: ParamValue::CouponCode(code.into()),
            parameter_name: None,
            extra: Extra::new(),
        }
    }
    pub fn media(kind: super::MediaKind, source: super::MediaSource) -> Result<Self, BuildError> {
        let m = MediaObject::from_source(source)?;
        let value = match kind {
            super::MediaKind::Image => ParamValue::Image(m),
            super::MediaKind::Video => ParamValue::Video(m),
            super::MediaKind::Document => ParamValue::Document(m),
            _ => {
                return Err(BuildError::Invalid(
                    "a template header takes an image, video or document",
                ));
            }
        };
        Ok(Parameter {
            value,
            parameter_name: None,
            extra: Extra::new(),
        })
    }
    pub fn type_name(&self) -> &str {
        self.value.type_name()
    }
}

wire_struct! {
    pub struct Currency {
        pub fallback_value: String,
        pub code: String,
        pub amount_1000: i64,
    }
}

wire_struct! {
    pub struct DateTime {
        pub fallback_value: String,
    }
}

#[derive(Serialize, Deserialize)]
struct RawParameter {
    #[serde(rename = "type")]
    type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parameter_name: Option<String>,
    #[serde(flatten)]
    rest: Extra,
}

impl TryFrom<RawParameter> for Parameter {
    type Error = serde_json::Error;
    fn try_from(mut raw: RawParameter) -> Result<Self, Self::Error> {
        let value = take_content(raw.type_name, &mut raw.rest)?;
        Ok(Parameter {
            value,
            parameter_name: raw.parameter_name,
            extra: raw.rest,
        })
    }
}

impl From<Parameter> for RawParameter {
    fn from(p: Parameter) -> Self {
        let mut rest = p.extra;
        put_content(&p.value, &mut rest).expect("parameter serialises");
        RawParameter {
            type_name: p.value.type_name().to_owned(),
            parameter_name: p.parameter_name,
            rest,
        }
    }
}
