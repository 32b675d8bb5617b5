//! Key/value text found in usage cells (tags, additional info): JSON objects, JSON without its outer braces
//! (EA exports), and PowerShell's `@{key=value; …}` rendering of a hashtable.

/// Parses `text` into key/value pairs, in source order. Empty text, `null` and `{}` give no pairs.
///
/// ```
/// use meterlens_engine::kv::parse;
/// let pairs = |t| parse(t).unwrap();
/// assert_eq!(pairs(r#"{"env":"prod","n":3}"#), vec![("env".into(), "prod".into()), ("n".into(), "3".into())]);
/// assert_eq!(pairs(r#""env": "prod""#), vec![("env".into(), "prod".into())]);
/// assert_eq!(pairs("@{env=prod; owner=Jane Doe}"), vec![("env".into(), "prod".into()), ("owner".into(), "Jane Doe".into())]);
/// ```
pub fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let t = text.trim();
    if t.is_empty() || t == "null" || t == "{}" || t == "@{}" {
        return Ok(Vec::new());
    }
    if let Some(inner) = t.strip_prefix("@{").and_then(|r| r.strip_suffix('}')) {
        return Ok(inner
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .filter(|(k, _)| !k.is_empty())
            .collect());
    }
    let object = if t.starts_with('{') { t.to_string() } else { format!("{{{t}}}") };
    match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&object) {
        Ok(map) => Ok(map
            .into_iter()
            .map(|(k, v)| {
                let value = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                };
                (k, value)
            })
            .collect()),
        Err(_) => Err(format!("cannot read {:?} as key/value pairs (JSON or @{{key=value}})", excerpt(t))),
    }
}

fn excerpt(text: &str) -> String {
    let short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn forms_found_in_real_files() {
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("null").unwrap(), vec![]);
        let azs = r#"{"azureStack.MeterId":"09F8879E-87E9-4305-A572-4B7BE209F857","azureStack.SubscriptionId":"abc"}"#;
        assert_eq!(parse(azs).unwrap()[1], ("azureStack.SubscriptionId".to_string(), "abc".to_string()));
        assert_eq!(parse(r#""a": "1",  "b": "x, y""#).unwrap().len(), 2);
        assert_eq!(parse(r#"{"nested":{"k":1}}"#).unwrap(), vec![("nested".to_string(), "{\"k\":1}".to_string())]);
        assert!(parse("{broken").unwrap_err().contains("{broken"));
        assert!(parse("just text").is_err());
    }
}
