//! Property tests: printing and parsing are inverse, and evaluation agrees with a reference
//! evaluator small enough to be obviously right.

use super::{CompValue, CompareOp, Filter, parse_filter};
use crate::path::AttrPath;
use crate::schema::ResourceSchema;
use proptest::prelude::*;
use serde_json::{Map, Number, Value, json};

const ENTERPRISE_EMPLOYEE_NUMBER: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber";

fn path(text: &str) -> AttrPath {
    AttrPath::parse(text).unwrap()
}

fn and(left: Filter, right: Filter) -> Filter {
    Filter::And(Box::new(left), Box::new(right))
}

fn or(left: Filter, right: Filter) -> Filter {
    Filter::Or(Box::new(left), Box::new(right))
}

/// `and`, `or` and `not` over `leaf`, a few levels deep.
fn logical(leaf: BoxedStrategy<Filter>) -> BoxedStrategy<Filter> {
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| and(l, r)),
            (inner.clone(), inner.clone()).prop_map(|(l, r)| or(l, r)),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
    .boxed()
}

mod round_trip {
    use super::*;

    fn literal() -> impl Strategy<Value = CompValue> {
        prop_oneof![
            Just(CompValue::Null),
            any::<bool>().prop_map(CompValue::Bool),
            any::<i64>().prop_map(|n| CompValue::Number(Number::from(n))),
            (-1e12f64..1e12).prop_map(|f| CompValue::Number(Number::from_f64(f).unwrap())),
            any::<String>().prop_map(CompValue::String),
            r#"[a-zA-Z"\\' ]{0,8}"#.prop_map(CompValue::String),
        ]
    }

    fn leaf(paths: Vec<AttrPath>) -> BoxedStrategy<Filter> {
        let paths = prop::sample::select(paths);
        prop_oneof![
            (
                paths.clone(),
                prop::sample::select(CompareOp::ALL.to_vec()),
                literal()
            )
                .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
            paths.prop_map(Filter::Present),
        ]
        .boxed()
    }

    fn filter() -> BoxedStrategy<Filter> {
        let resource_paths = [
            "userName",
            "displayName",
            "name.givenName",
            "emails",
            "title",
            "active",
            "meta.lastModified",
            ENTERPRISE_EMPLOYEE_NUMBER,
        ]
        .map(path)
        .to_vec();
        let sub_attributes = ["type", "value", "primary", "display"]
            .map(AttrPath::new)
            .to_vec();
        let value_path = logical(leaf(sub_attributes)).prop_map(|inner| Filter::ValuePath {
            path: path("emails"),
            filter: Box::new(inner),
        });
        logical(prop_oneof![3 => leaf(resource_paths), 1 => value_path].boxed())
    }

    proptest! {
        #[test]
        fn printed_filters_parse_back_to_the_same_ast(filter in filter()) {
            let text = filter.to_string();
            prop_assert_eq!(parse_filter(&text), Ok(filter), "{}", text);
        }
    }
}

mod reference_evaluator {
    use super::*;

    /// The attributes the reference evaluator knows: single-valued strings, one of them
    /// `caseExact` (RFC 7643 §3.1), and the boolean `active`.
    const TEXT_ATTRIBUTES: [&str; 4] = ["userName", "displayName", "title", "externalId"];

    #[derive(Debug, Clone)]
    struct Person {
        texts: [Option<String>; 4],
        active: Option<bool>,
        /// Stores attribute names upper-cased, which must not change any outcome.
        shouted_keys: bool,
    }

    impl Person {
        fn text(&self, name: &str) -> Option<&str> {
            let index = TEXT_ATTRIBUTES.iter().position(|a| *a == name).unwrap();
            self.texts[index].as_deref()
        }

        fn to_resource(&self) -> Map<String, Value> {
            let key = |name: &str| {
                if self.shouted_keys {
                    name.to_uppercase()
                } else {
                    name.to_string()
                }
            };
            let mut resource = Map::new();
            resource.insert("schemas".into(), json!([ResourceSchema::user().core.id]));
            for (name, text) in TEXT_ATTRIBUTES.iter().zip(&self.texts) {
                if let Some(text) = text {
                    resource.insert(key(name), json!(text));
                }
            }
            if let Some(active) = self.active {
                resource.insert(key("active"), json!(active));
            }
            resource
        }
    }

    /// The obvious semantics, written out for this subset only.
    fn reference(filter: &Filter, person: &Person) -> bool {
        match filter {
            Filter::And(left, right) => reference(left, person) && reference(right, person),
            Filter::Or(left, right) => reference(left, person) || reference(right, person),
            Filter::Not(inner) => !reference(inner, person),
            Filter::Present(path) if path.name == "active" => person.active.is_some(),
            Filter::Present(path) => person.text(&path.name).is_some_and(|v| !v.is_empty()),
            Filter::Compare { path, op, value } if path.name == "active" => {
                let literal = match value {
                    CompValue::Bool(b) => *b,
                    CompValue::String(s) => s.eq_ignore_ascii_case("true"),
                    other => unreachable!("{other:?}"),
                };
                match person.active {
                    None => *op == CompareOp::Ne,
                    Some(active) => (active == literal) == (*op == CompareOp::Eq),
                }
            }
            Filter::Compare {
                path,
                op,
                value: CompValue::String(literal),
            } => {
                let normalise = |s: &str| {
                    if path.name == "externalId" {
                        s.to_string()
                    } else {
                        s.to_lowercase()
                    }
                };
                let Some(stored) = person.text(&path.name) else {
                    return *op == CompareOp::Ne;
                };
                let (stored, literal) = (normalise(stored), normalise(literal));
                match op {
                    CompareOp::Eq => stored == literal,
                    CompareOp::Ne => stored != literal,
                    CompareOp::Co => stored.contains(&literal),
                    CompareOp::Sw => stored.starts_with(&literal),
                    other => unreachable!("{other:?}"),
                }
            }
            other => unreachable!("{other:?}"),
        }
    }

    fn short_text() -> impl Strategy<Value = String> {
        "[aAbBéÉ]{0,3}"
    }

    fn person() -> impl Strategy<Value = Person> {
        (
            [
                prop::option::of(short_text()),
                prop::option::of(short_text()),
                prop::option::of(short_text()),
                prop::option::of(short_text()),
            ],
            prop::option::of(any::<bool>()),
            any::<bool>(),
        )
            .prop_map(|(texts, active, shouted_keys)| Person {
                texts,
                active,
                shouted_keys,
            })
    }

    fn leaf() -> BoxedStrategy<Filter> {
        let text_path = prop::sample::select(TEXT_ATTRIBUTES.to_vec()).prop_map(path);
        let text_op = prop::sample::select(vec![
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Co,
            CompareOp::Sw,
        ]);
        let bool_op = prop::sample::select(vec![CompareOp::Eq, CompareOp::Ne]);
        let bool_literal = prop_oneof![
            any::<bool>().prop_map(CompValue::Bool),
            prop::sample::select(vec!["True", "FALSE", "true", "false"])
                .prop_map(|s| CompValue::String(s.to_string())),
        ];
        prop_oneof![
            (text_path.clone(), text_op, short_text()).prop_map(|(path, op, literal)| {
                Filter::Compare {
                    path,
                    op,
                    value: CompValue::String(literal),
                }
            }),
            text_path.prop_map(Filter::Present),
            (bool_op, bool_literal).prop_map(|(op, value)| Filter::Compare {
                path: path("active"),
                op,
                value,
            }),
            Just(Filter::Present(path("active"))),
        ]
        .boxed()
    }

    proptest! {
        #[test]
        fn evaluator_agrees_with_the_reference(filter in logical(leaf()), person in person()) {
            let resource = person.to_resource();
            let outcome = filter.matches(&resource, ResourceSchema::user());
            prop_assert_eq!(outcome, Ok(reference(&filter, &person)), "{}", filter);
        }
    }
}
