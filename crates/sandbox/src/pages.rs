//! The sandbox's HTML: the teacher picker, consent and error pages. Every value is
//! escaped; the banner says plainly that this is not a real school.

use crate::district::{DISTRICT_NAME, District, Person, Role};

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title} · Demo district</title>
<style>
:root {{ color-scheme: light dark; font-family: system-ui, sans-serif; }}
body {{ margin: 0; background: Canvas; color: CanvasText; }}
.banner {{ background: #fde68a; color: #422006; padding: .75rem 1rem; font-weight: 600; text-align: center; }}
main {{ max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }}
fieldset {{ border: 1px solid #8884; border-radius: .5rem; padding: .5rem 1rem; }}
label {{ display: block; padding: .4rem 0; }}
small {{ opacity: .75; }}
button {{ font: inherit; padding: .5rem 1.25rem; margin: .75rem .5rem 0 0; border-radius: .4rem; border: 1px solid #8886; cursor: pointer; }}
button.primary {{ background: #1d4ed8; color: white; border-color: #1d4ed8; }}
.error {{ color: #b91c1c; }}
</style></head><body>
<div class="banner" role="note">Demo district: not a real school. For demos and tests only; every person here is made up.</div>
<main>{body}</main></body></html>"#,
        title = escape(title),
    )
}

pub fn picker(district: &District, action: &str, search: &str, error: Option<&str>) -> String {
    let needle = search.trim().to_lowercase();
    let matches: Vec<&Person> = district
        .staff
        .iter()
        .filter(|p| {
            needle.is_empty()
                || p.display_name().to_lowercase().contains(&needle)
                || p.username.contains(&needle)
                || district.schools[p.school]
                    .name
                    .to_lowercase()
                    .contains(&needle)
        })
        .take(24)
        .collect();
    let mut options = String::new();
    for (i, person) in matches.iter().enumerate() {
        let role = match person.role {
            Role::Administrator => "Principal",
            _ => "Teacher",
        };
        options.push_str(&format!(
            r#"<label><input type="radio" name="teacher" value="{id}"{checked} required> {name} <small>{role}, {school} · {classes}</small></label>"#,
            id = escape(&person.id),
            checked = if i == 0 { " checked" } else { "" },
            name = escape(&person.display_name()),
            school = escape(&district.schools[person.school].name),
            classes = class_count(district, person),
        ));
    }
    if matches.is_empty() {
        options.push_str("<p>No one matches that search.</p>");
    }
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default();
    layout(
        "Sign in",
        &format!(
            r#"<h1>{district}</h1><p>Choose who you want to be. There is no password in the demo district.</p>{error}
<form method="get"><label>Search staff <input type="search" name="q" value="{search}"></label></form>
<form method="post" action="{action}"><fieldset><legend>Staff</legend>{options}</fieldset>
<button class="primary" type="submit">Continue</button></form>"#,
            district = escape(DISTRICT_NAME),
            search = escape(search),
            action = escape(action),
        ),
    )
}

/// The classes a teacher has as Rollbook counts them (this term's, the class list's
/// default), and the year's when that is more: "4 classes this term (5 this year)".
fn class_count(district: &District, person: &Person) -> String {
    let classes: &[usize] = match district.lookup(&person.id) {
        Some(crate::district::Entity::Staff(s)) => &district.classes_of_staff[s],
        _ => &[],
    };
    let today = district.today;
    let current = classes
        .iter()
        .filter(|&&c| {
            district.classes[c].terms.iter().any(|&t| {
                let term = &district.terms[t];
                term.start <= today && today <= term.end
            })
        })
        .count();
    let plural = |n: usize| {
        if n == 1 {
            "1 class".to_owned()
        } else {
            format!("{n} classes")
        }
    };
    if current == classes.len() {
        format!("{} this term", plural(current))
    } else {
        format!(
            "{} this term ({} this year)",
            plural(current),
            classes.len()
        )
    }
}

pub fn consent(person: &Person, scopes: &[String], action: &str) -> String {
    let mut asks = vec!["Know your name and email address"];
    if scopes.iter().any(|s| s == "oneroster" || s == "full") {
        // Rollbook writes grades back, so the teacher is told so before allowing it.
        asks.push(
            "Read your classes and class rosters, and read and write grades in your gradebook",
        );
    }
    if scopes.iter().any(|s| s == "offline_access") {
        asks.push("Stay signed in on this computer until you sign out");
    }
    let list: String = asks
        .iter()
        .map(|a| format!("<li>{}</li>", escape(a)))
        .collect();
    layout(
        "Allow access",
        &format!(
            r#"<h1>Allow Rollbook?</h1><p>Signed in as <strong>{name}</strong> ({email}).</p>
<p>Rollbook would like to:</p><ul>{list}</ul>
<form method="post" action="{action}">
<button class="primary" type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></form>"#,
            name = escape(&person.display_name()),
            email = escape(&person.email),
            action = escape(action),
        ),
    )
}

pub fn error(title: &str, detail: &str) -> String {
    layout(
        title,
        &format!(
            r#"<h1>{}</h1><p class="error" role="alert">{}</p><p>Close this tab and start again from Rollbook.</p>"#,
            escape(title),
            escape(detail)
        ),
    )
}

pub fn home(district: &District, issuer: &str) -> String {
    layout(
        "Demo district",
        &format!(
            r#"<h1>{name}</h1><p>A ClassLink-shaped sign-in and a OneRoster 1.1 server with generated data.</p>
<ul><li>Issuer: <code>{issuer}</code></li><li>OneRoster: <code>{issuer}/ims/oneroster/v1p1</code></li>
<li>{schools} schools, {staff} staff, {students} students, {classes} classes</li></ul>"#,
            name = escape(DISTRICT_NAME),
            issuer = escape(issuer),
            schools = district.schools.len(),
            staff = district.staff.len(),
            students = district.students.len(),
            classes = district.classes.len(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Size;

    fn district() -> District {
        District::generate(7, Size::Tiny, time::macros::date!(2026 - 11 - 20))
    }

    #[test]
    fn consent_says_grades_are_written_too() {
        let d = district();
        let page = consent(&d.staff[0], &["oneroster".to_owned()], "/consent");
        assert!(page.contains("read and write grades"), "{page}");
    }

    #[test]
    fn the_picker_counts_classes_as_the_app_shows_them() {
        // A teacher with a class outside today's terms: the app lists this term's only,
        // so the picker says both counts.
        let d = district();
        let current = |c: usize| {
            d.classes[c]
                .terms
                .iter()
                .any(|&t| d.terms[t].start <= d.today && d.today <= d.terms[t].end)
        };
        let (teacher, classes) = d
            .classes_of_staff
            .iter()
            .enumerate()
            .find(|(_, cs)| cs.iter().any(|&c| !current(c)) && cs.iter().any(|&c| current(c)))
            .expect("the demo district has a teacher with a class in another term");
        let now = classes.iter().filter(|&&c| current(c)).count();
        let expected = format!(
            "{now} class{} this term ({} this year)",
            if now == 1 { "" } else { "es" },
            classes.len()
        );
        assert_eq!(class_count(&d, &d.staff[teacher]), expected);
        let page = picker(&d, "/pick", &d.staff[teacher].username, None);
        assert!(page.contains(&expected), "{page}");
    }
}
