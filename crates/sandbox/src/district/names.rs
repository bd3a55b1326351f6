//! Name pools for generated people: given and family names from many languages, with
//! the characters real rosters carry (accents, apostrophes, hyphens, spaces).

pub const GIVEN: &[&str] = &[
    "Aaliyah", "Abdullah", "Adaeze", "Aditi", "Ahmad", "Aiko", "Akosua", "Alejandro", "Alexander",
    "Amara", "Amelia", "Ana Sofía", "Anh", "Aroha", "Arjun", "Astrid", "Aylin", "Ayumi", "Benjamin",
    "Bilal", "Bongani", "Camila", "Carlos", "Catalina", "Chidi", "Chloé", "Christopher", "Daniela",
    "Darius", "Dmitri", "Elena", "Elijah", "Emeka", "Emily", "Esperanza", "Ethan", "Fatima", "Felipe",
    "Finn", "Freya", "Gabriel", "Giulia", "Hana", "Hamza", "Hiroshi", "Ibrahim", "Imani", "Ingrid",
    "Isabella", "Ivan", "Jamal", "Jayden", "Jia Hui", "Jonah", "José", "Kai", "Kalani", "Kamala",
    "Keanu", "Kenji", "Khadija", "Kofi", "Laila", "Leilani", "Liam", "Lucía", "Luis", "Malak",
    "Malia", "Marcus", "María José", "Mateo", "Maya", "Mei", "Mohammed", "Nadia", "Naledi", "Nia",
    "Nikolai", "Noah", "Nomvula", "Olivia", "Omar", "Oluwaseun", "Priya", "Quinn", "Rafael", "Rahul",
    "Rania", "Renée", "Rohan", "Rosa", "Ryo", "Saanvi", "Samira", "Santiago", "Sebastián", "Seo-yeon",
    "Sione", "Siobhán", "Sofia", "Soo-ah", "Tariq", "Tatiana", "Thandiwe", "Thanh", "Tomás", "Valentina",
    "Wei", "Xochitl", "Yara", "Yusuf", "Zainab", "Zara", "Zoë", "Zuri", "Ōta", "Łucja", "Søren",
    "Björn", "Dylan", "Harper", "Jordan", "Riley", "Avery", "Taylor", "Morgan", "Cameron",
];

pub const FAMILY: &[&str] = &[
    "Abara", "Adeyemi", "Ahmed", "Alvarez", "Andersson", "Asante", "Bakr", "Banerjee", "Becker",
    "Begay", "Bianchi", "Brown", "Castillo", "Chen", "Cohen", "Cruz", "D'Angelo", "Da Silva",
    "Davies", "de la Cruz", "Dlamini", "Dubois", "Eze", "Fernández", "Fischer", "Flores", "Garcia",
    "García-López", "Gonzalez", "Gupta", "Haddad", "Hansen", "Harris", "Hernández", "Ho", "Hussain",
    "Ibrahim", "Ito", "Jackson", "Jensen", "Johnson", "Kahananui", "Kaur", "Kim", "Kowalski",
    "Kumar", "Le", "Lee", "Lindqvist", "Liu", "Lopez", "MacLeod", "Mahlangu", "Martin",
    "Martínez-Ortega", "McAllister", "Mendoza", "Mensah", "Miller", "Mohammed", "Moreno",
    "Müller", "Murphy", "Nakamura", "Nascimento", "Ndlovu", "Nguyen", "Nguyễn", "Novak",
    "O'Brien", "O'Connor", "Okafor", "Okonkwo", "Olsen", "Ortiz", "Osei", "Park", "Patel",
    "Petrov", "Phillips", "Popescu", "Quispe", "Ramírez", "Rao", "Reyes", "Robinson", "Rossi",
    "Saito", "Sánchez", "Santos", "Schmidt", "Shah", "Silva", "Singh", "Smith", "Sokolova",
    "St. James", "Suzuki", "Tanaka", "Taufa", "Thompson", "Torres", "Tran", "Van der Berg",
    "Vargas", "Walker", "Wang", "Washington", "White", "Williams", "Wilson", "Wójcik", "Xu",
    "Yamamoto", "Yazzie", "Yilmaz", "Young", "Zhang", "Zhou", "Żukowski", "Ó Súilleabháin",
];

/// Preferred first names some students go by (the SIS's `preferredFirstName`).
pub const PREFERRED: &[&str] = &[
    "AJ", "Alex", "Ali", "Bea", "Charlie", "Dani", "Izzy", "Jay", "Jojo", "Kit", "Lulu", "Max",
    "Mo", "Nico", "Pia", "Rafa", "Sam", "Santi", "Tom", "Val", "Zee",
];

/// Turns a name into the ASCII letters usernames and emails use.
pub fn ascii_slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let mapped = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' => "a",
            'é' | 'è' | 'ê' | 'ë' | 'ễ' | 'É' => "e",
            'í' | 'ì' | 'î' | 'ï' => "i",
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'Ó' | 'Ō' | 'ō' | 'ø' => "o",
            'ú' | 'ù' | 'û' | 'ü' => "u",
            'ñ' => "n",
            'ç' => "c",
            'ł' | 'Ł' => "l",
            'ż' | 'Ż' => "z",
            c if c.is_ascii_alphanumeric() => {
                out.push(c.to_ascii_lowercase());
                continue;
            }
            _ => "",
        };
        out.push_str(mapped);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs_are_plain_ascii() {
        assert_eq!(super::ascii_slug("Martínez-Ortega"), "martinezortega");
        assert_eq!(super::ascii_slug("O'Brien"), "obrien");
        assert_eq!(super::ascii_slug("Ó Súilleabháin"), "osuilleabhain");
        assert_eq!(super::ascii_slug("Nguyễn"), "nguyen");
        for name in super::GIVEN.iter().chain(super::FAMILY) {
            let slug = super::ascii_slug(name);
            assert!(!slug.is_empty() && slug.is_ascii(), "{name} → {slug}");
        }
    }
}
