//! `${NAME}` and `${NAME:-default}` expansion inside YAML string values, with the
//! environment lookup injected (tests never touch the process environment).
//! `$$` stands for a literal `$`; a `$` not followed by `{` or `$` is kept as is.

use serde_yaml::Value;

use crate::config::problem::Problem;

/// Why one string could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolateError {
    #[error("environment variable {0} is not set (write ${{{0}:-default}} for a default)")]
    Unset(String),
    #[error("unterminated ${{...}}")]
    Unterminated,
    #[error("invalid variable name in ${{...}}")]
    BadName,
}

/// Expands one string.
pub fn expand(
    input: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolateError> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or(InterpolateError::Unterminated)?;
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            let valid = !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err(InterpolateError::BadName);
            }
            match (env(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Err(InterpolateError::Unset(name.to_owned())),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Expands every string value in a YAML tree (keys are left alone), collecting problems.
pub fn expand_tree(
    value: &mut Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<Problem>,
) {
    match value {
        Value::String(s) => {
            if s.contains('$') {
                match expand(s, env) {
                    Ok(expanded) => *s = expanded,
                    Err(e) => problems.push(Problem {
                        path: path.to_owned(),
                        message: e.to_string(),
                    }),
                }
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_tree(item, &format!("{path}[{i}]"), env, problems);
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let key = k.as_str().unwrap_or("?");
                let child = if path.is_empty() {
                    key.to_owned()
                } else {
                    format!("{path}.{key}")
                };
                expand_tree(v, &child, env, problems);
            }
        }
        Value::Tagged(tagged) => expand_tree(&mut tagged.value, path, env, problems),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "POOL" => Some("us-east-1_Abc".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn a_set_variable_is_replaced() {
        assert_eq!(
            expand("pool ${POOL}!", &env).unwrap(),
            "pool us-east-1_Abc!"
        );
    }

    #[test]
    fn an_unset_variable_uses_its_default() {
        assert_eq!(
            expand("${NOPE:-127.0.0.1:80}", &env).unwrap(),
            "127.0.0.1:80"
        );
        assert_eq!(expand("${POOL:-x}", &env).unwrap(), "us-east-1_Abc");
        assert_eq!(expand("${NOPE:-}", &env).unwrap(), "");
    }

    #[test]
    fn an_unset_variable_without_default_is_an_error() {
        assert_eq!(
            expand("${NOPE}", &env).unwrap_err(),
            InterpolateError::Unset("NOPE".into())
        );
    }

    #[test]
    fn dollars_escape_and_malformed_references() {
        assert_eq!(expand("a$$b $x", &env).unwrap(), "a$b $x");
        assert_eq!(
            expand("${POOL", &env).unwrap_err(),
            InterpolateError::Unterminated
        );
        assert_eq!(
            expand("${1X}", &env).unwrap_err(),
            InterpolateError::BadName
        );
        assert_eq!(expand("${}", &env).unwrap_err(), InterpolateError::BadName);
    }

    #[test]
    fn a_tree_reports_the_path_of_each_unset_variable() {
        let mut v: Value =
            serde_yaml::from_str("a:\n  b: ${X}\nlist: [ok, '${Y}']\nc: ${POOL}\n").unwrap();
        let mut problems = Vec::new();
        expand_tree(&mut v, "", &env, &mut problems);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["a.b", "list[1]"]);
        assert_eq!(v["c"], Value::String("us-east-1_Abc".into()));
    }
}
