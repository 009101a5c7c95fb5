//! XML text as JSON, for the parser op: an element with child elements is an object of them (a
//! repeated child is a list of its values), any other element is its text (null when it has none);
//! a single root element `r` is `{"r": ...}`, several top-level elements merge into one object.
//! Attributes, comments and processing instructions are left out.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use quick_xml::Reader;
use serde_json::{Map, Value};

/// An element being read: its name, its children so far, its text so far.
struct Open {
    name: String,
    children: Map<String, Value>,
    text: String,
}

impl Open {
    fn new(name: String) -> Open {
        Open { name, children: Map::new(), text: String::new() }
    }

    /// The element's value once it is closed.
    fn value(self) -> Value {
        if !self.children.is_empty() {
            Value::Object(self.children)
        } else if self.text.is_empty() {
            Value::Null
        } else {
            Value::String(self.text)
        }
    }
}

/// Adds `value` under `name` to `into`: a second value of one name makes a list.
fn add(into: &mut Map<String, Value>, name: String, value: Value) {
    match into.get_mut(&name) {
        Some(Value::Array(list)) => list.push(value),
        Some(first) => {
            let first = first.take();
            into.insert(name, Value::Array(vec![first, value]));
        }
        None => {
            into.insert(name, value);
        }
    }
}

/// Parses `text` as XML into JSON (see the module's documentation); the message of what is wrong
/// otherwise.
pub fn to_json(text: &str) -> Result<Value, String> {
    let mut reader = Reader::from_str(text);
    // the document's top level, as if it were one element's children
    let mut stack = vec![Open::new(String::new())];
    loop {
        let event = reader.read_event().map_err(|e| format!("{e} (at byte {})", reader.error_position()))?;
        match event {
            Event::Start(e) => stack.push(Open::new(String::from_utf8_lossy(e.name().as_ref()).into_owned())),
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if let Some(top) = stack.last_mut() {
                    add(&mut top.children, name, Value::Null);
                }
            }
            Event::End(_) => {
                let done = stack.pop().ok_or("an end tag with no start")?;
                let parent = stack.last_mut().ok_or("an end tag with no start")?;
                let name = done.name.clone();
                add(&mut parent.children, name, done.value());
            }
            Event::Text(t) => {
                let s = t.xml_content().map_err(|e| e.to_string())?;
                push_text(&mut stack, &s)?;
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| e.to_string())?;
                push_text(&mut stack, &s)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(|e| e.to_string())?;
                        resolve_predefined_entity(&name).ok_or_else(|| format!("unknown entity &{name};"))?.to_string()
                    }
                };
                push_text(&mut stack, &resolved)?;
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if stack.len() > 1 {
        let open = stack.last().map(|o| o.name.clone()).unwrap_or_default();
        return Err(format!("unclosed element <{open}> at the end of the text"));
    }
    let top = stack.pop().map(|o| o.children).unwrap_or_default();
    if top.is_empty() {
        return Err("no element found".into());
    }
    Ok(Value::Object(top))
}

/// Text inside an element; text outside every element may only be whitespace.
fn push_text(stack: &mut [Open], s: &str) -> Result<(), String> {
    match stack {
        [_top] if s.trim().is_empty() => Ok(()),
        [_top] => Err(format!("text outside any element: {:?}", s.trim())),
        [.., open] => {
            open.text.push_str(s);
            Ok(())
        }
        [] => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::to_json;

    #[test]
    fn elements_become_objects_and_leaves_their_text() {
        assert_eq!(
            to_json("<r><a>1</a><b><c>x &amp; y</c></b><e/></r>").unwrap(),
            json!({"r": {"a": "1", "b": {"c": "x & y"}, "e": null}})
        );
        assert_eq!(to_json("<a>1</a>\n<b>two</b>").unwrap(), json!({"a": "1", "b": "two"}));
        assert_eq!(to_json("<r><i>1</i><i>2</i></r>").unwrap(), json!({"r": {"i": ["1", "2"]}}));
        assert_eq!(to_json("<r>hi</r>").unwrap(), json!({"r": "hi"}));
        assert!(to_json("<r><a>1</r>").is_err());
        assert!(to_json("<r>").unwrap_err().contains("unclosed"));
        assert!(to_json("just text").is_err());
    }
}
