//! OneRoster collection parameters over JSON records: `filter` (at most two
//! predicates joined by ` AND ` or ` OR `), `sort`/`orderBy`, `fields`, and paging.

use std::collections::HashMap;

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
}

#[derive(Debug, Clone)]
struct Predicate {
    field: String,
    op: Op,
    value: String,
}

#[derive(Debug, Clone)]
pub struct Filter {
    first: Predicate,
    rest: Option<(bool, Predicate)>, // (is_and, predicate)
}

impl Filter {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (first, rest) = if let Some((a, b)) = text.split_once(" AND ") {
            (a, Some((true, b)))
        } else if let Some((a, b)) = text.split_once(" OR ") {
            (a, Some((false, b)))
        } else {
            (text, None)
        };
        Ok(Self {
            first: predicate(first)?,
            rest: rest
                .map(|(and, p)| predicate(p).map(|p| (and, p)))
                .transpose()?,
        })
    }

    pub fn matches(&self, record: &Value) -> bool {
        let first = self.first.matches(record);
        match &self.rest {
            None => first,
            Some((true, p)) => first && p.matches(record),
            Some((false, p)) => first || p.matches(record),
        }
    }
}

fn predicate(text: &str) -> Result<Predicate, String> {
    const OPS: [(&str, Op); 7] = [
        ("!=", Op::Ne),
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("=", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("~", Op::Contains),
    ];
    let quote = text
        .find('\'')
        .ok_or_else(|| format!("`{text}`: the value must be in single quotes"))?;
    let (left, value) = text.split_at(quote);
    let value = value
        .strip_prefix('\'')
        .and_then(|v| v.trim_end().strip_suffix('\''))
        .ok_or_else(|| format!("`{text}`: the value must be in single quotes"))?;
    // A quote inside the value is written twice.
    let value = &value.replace("''", "'");
    let left = left.trim_end();
    let (field, op) = OPS
        .iter()
        .find_map(|(sym, op)| left.strip_suffix(sym).map(|f| (f.trim(), *op)))
        .ok_or_else(|| format!("`{text}`: no comparison operator"))?;
    if field.is_empty()
        || !field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    {
        return Err(format!("`{field}` is not a field name"));
    }
    Ok(Predicate {
        field: field.to_owned(),
        op,
        value: value.to_owned(),
    })
}

/// A field as text; dotted paths reach into references (`class.sourcedId`), and a list
/// matches when any element does.
fn field_values(record: &Value, path: &str) -> Vec<String> {
    let mut current = vec![record];
    for part in path.split('.') {
        current = current
            .into_iter()
            .flat_map(|v| match v {
                Value::Array(items) => items.iter().filter_map(|i| i.get(part)).collect::<Vec<_>>(),
                other => other.get(part).into_iter().collect(),
            })
            .collect();
    }
    current
        .into_iter()
        .flat_map(|v| match v {
            Value::Array(items) => items.iter().map(as_text).collect::<Vec<_>>(),
            other => vec![as_text(other)],
        })
        .collect()
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Predicate {
    fn matches(&self, record: &Value) -> bool {
        let values = field_values(record, &self.field);
        let test = |v: &String| match self.op {
            Op::Eq => *v == self.value,
            Op::Ne => *v != self.value,
            Op::Gt => v.as_str() > self.value.as_str(),
            Op::Ge => v.as_str() >= self.value.as_str(),
            Op::Lt => v.as_str() < self.value.as_str(),
            Op::Le => v.as_str() <= self.value.as_str(),
            Op::Contains => v.to_lowercase().contains(&self.value.to_lowercase()),
        };
        if self.op == Op::Ne {
            values.iter().all(test)
        } else {
            values.iter().any(test)
        }
    }
}

/// What one collection request asked for.
#[derive(Debug, Clone)]
pub struct CollectionQuery {
    pub filter: Option<Filter>,
    pub sort: Option<(String, bool)>, // (field, descending)
    pub fields: Vec<String>,
    pub limit: usize,
    pub offset: usize,
}

impl CollectionQuery {
    pub fn from_params(params: &HashMap<String, String>, max_page: usize) -> Result<Self, String> {
        let number = |key: &str, default: usize| -> Result<usize, String> {
            params.get(key).map_or(Ok(default), |v| {
                v.trim()
                    .parse()
                    .map_err(|_| format!("{key} must be a whole number"))
            })
        };
        let limit = number("limit", 100)?.clamp(1, max_page.max(1));
        let offset = number("offset", 0)?;
        let filter = params.get("filter").map(|f| Filter::parse(f)).transpose()?;
        let descending = params
            .get("orderBy")
            .is_some_and(|o| o.eq_ignore_ascii_case("desc"));
        let sort = params
            .get("sort")
            .map(|s| (s.trim().to_owned(), descending));
        let fields = params
            .get("fields")
            .map(|f| {
                f.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            filter,
            sort,
            fields,
            limit,
            offset,
        })
    }

    /// Filters and sorts `records`, then returns the requested page and the total.
    pub fn apply(&self, mut records: Vec<Value>) -> (Vec<Value>, usize) {
        if let Some(filter) = &self.filter {
            records.retain(|r| filter.matches(r));
        }
        if let Some((field, descending)) = &self.sort {
            records.sort_by(|a, b| {
                let order = field_values(a, field).cmp(&field_values(b, field));
                if *descending { order.reverse() } else { order }
            });
        }
        let total = records.len();
        let page: Vec<Value> = records
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .map(|r| self.project(r))
            .collect();
        (page, total)
    }

    fn project(&self, record: Value) -> Value {
        if self.fields.is_empty() {
            return record;
        }
        match record {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .filter(|(k, _)| self.fields.iter().any(|f| f == k))
                    .collect(),
            ),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_like_the_spec() {
        let r = json!({"email":"a@b.example","role":"teacher","class":{"sourcedId":"c1"},"grades":["09","10"]});
        for (f, want) in [
            ("email='a@b.example'", true),
            ("email!='a@b.example'", false),
            ("role='teacher' AND email~'B.EX'", true),
            ("role='student' OR class.sourcedId='c1'", true),
            ("role='student' AND class.sourcedId='c1'", false),
            ("grades='10'", true),
            ("grades>='11'", false),
        ] {
            assert_eq!(Filter::parse(f).unwrap().matches(&r), want, "{f}");
        }
        // A quote in a value is written twice.
        let r = json!({"email": "o'brien@b.example"});
        for (f, want) in [
            ("email='o''brien@b.example'", true),
            ("email='obrien@b.example'", false),
        ] {
            assert_eq!(Filter::parse(f).unwrap().matches(&r), want, "{f}");
        }
        for bad in ["email=a", "email 'x'", "='x'", "em ail='x'"] {
            assert!(Filter::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sorts_projects_and_pages() {
        let params: HashMap<String, String> = [
            ("sort", "n"),
            ("orderBy", "desc"),
            ("fields", "n"),
            ("limit", "2"),
            ("offset", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let q = CollectionQuery::from_params(&params, 1000).unwrap();
        let (page, total) = q.apply(vec![
            json!({"n":"a","x":1}),
            json!({"n":"c"}),
            json!({"n":"b"}),
        ]);
        assert_eq!(total, 3);
        assert_eq!(page, vec![json!({"n":"b"}), json!({"n":"a"})]);
    }
}
