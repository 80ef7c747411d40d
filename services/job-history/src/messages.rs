//! Error messages in the languages the history speaks (`locale`: `en`, `pt_BR`, `fr`). The query
//! errors are kinds with positions (from the common crate); their words are chosen here.

use std::str::FromStr;

use common::rsql::value::{ValueErrorKind, ValueType};
use common::rsql::{Expected, Operator, ParseErrorKind};

use crate::query::QueryError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    PtBr,
    Fr,
}

impl FromStr for Locale {
    type Err = ();

    /// `en`, `pt_BR` and `fr`, also written `pt-BR`, `pt`, `fr_FR`..., in any case.
    fn from_str(text: &str) -> Result<Locale, ()> {
        let lower = text.to_ascii_lowercase().replace('-', "_");
        match lower.split('_').next() {
            Some("en") => Ok(Locale::En),
            Some("pt") => Ok(Locale::PtBr),
            Some("fr") => Ok(Locale::Fr),
            _ => Err(()),
        }
    }
}

/// Picks the sentence of the locale.
fn say(locale: Locale, en: String, pt: String, fr: String) -> String {
    match locale {
        Locale::En => en,
        Locale::PtBr => pt,
        Locale::Fr => fr,
    }
}

pub fn query_error(error: &QueryError, locale: Locale) -> String {
    let at = error.span().position();
    match error {
        QueryError::Parse(parse) => parse_error(&parse.kind, at, locale),
        QueryError::Value(value) => value_error(&value.kind, at, locale),
        QueryError::UnknownSelector { name, .. } => {
            let valid = crate::query::selectors::names().join(", ");
            say(
                locale,
                format!("unknown selector `{name}` at character {at}; the selectors are {valid}"),
                format!("seletor desconhecido `{name}` no caractere {at}; os seletores são {valid}"),
                format!("sélecteur inconnu `{name}` au caractère {at} ; les sélecteurs sont {valid}"),
            )
        }
        QueryError::Unordered { operator, selector, value_type, .. } => {
            let (operator, kind) = (operator.symbol(), type_name(*value_type, locale));
            say(
                locale,
                format!(
                    "`{operator}` at character {at} orders values, but `{selector}` is {kind}: use ==, !=, =in= or =out="
                ),
                format!(
                    "`{operator}` no caractere {at} ordena valores, mas `{selector}` é {kind}: use ==, !=, =in= ou =out="
                ),
                format!(
                    "`{operator}` au caractère {at} ordonne des valeurs, mais `{selector}` est {kind} : utilisez ==, !=, =in= ou =out="
                ),
            )
        }
        QueryError::WildcardOrdering { operator, .. } => {
            let operator = operator.symbol();
            say(
                locale,
                format!(
                    "a `*` wildcard at character {at} cannot be used with `{operator}`; only with ==, !=, =in= and =out="
                ),
                format!(
                    "o curinga `*` no caractere {at} não pode ser usado com `{operator}`; apenas com ==, !=, =in= e =out="
                ),
                format!(
                    "le joker `*` au caractère {at} ne s'emploie pas avec `{operator}` ; seulement avec ==, !=, =in= et =out="
                ),
            )
        }
    }
}

fn parse_error(kind: &ParseErrorKind, at: usize, locale: Locale) -> String {
    match kind {
        ParseErrorKind::Empty => {
            say(locale, "the query is empty".into(), "a consulta está vazia".into(), "la requête est vide".into())
        }
        ParseErrorKind::Unexpected { expected, found } => {
            let words: Vec<&str> = expected.iter().map(|e| expected_word(*e, locale)).collect();
            let or = say(locale, "or".into(), "ou".into(), "ou".into());
            let expected = match words.split_last() {
                Some((last, [])) => (*last).to_owned(),
                Some((last, rest)) => format!("{} {or} {last}", rest.join(", ")),
                None => "?".to_owned(),
            };
            match found {
                Some(c) => say(
                    locale,
                    format!("expected {expected} at character {at}, but found `{c}`"),
                    format!("esperado {expected} no caractere {at}, mas foi encontrado `{c}`"),
                    format!("attendu {expected} au caractère {at}, mais trouvé `{c}`"),
                ),
                None => say(
                    locale,
                    format!("expected {expected} at character {at}, but the query ends there"),
                    format!("esperado {expected} no caractere {at}, mas a consulta termina ali"),
                    format!("attendu {expected} au caractère {at}, mais la requête s'arrête là"),
                ),
            }
        }
        ParseErrorKind::UnterminatedQuote { quote } => say(
            locale,
            format!("the quote {quote} opened at character {at} is never closed"),
            format!("a aspa {quote} aberta no caractere {at} nunca é fechada"),
            format!("le guillemet {quote} ouvert au caractère {at} n'est jamais fermé"),
        ),
        ParseErrorKind::UnknownOperator { operator } => {
            let all = Operator::all_spellings();
            say(
                locale,
                format!("unknown operator `{operator}` at character {at}; the operators are {all}"),
                format!("operador desconhecido `{operator}` no caractere {at}; os operadores são {all}"),
                format!("opérateur inconnu `{operator}` au caractère {at} ; les opérateurs sont {all}"),
            )
        }
        ParseErrorKind::ListForSingleValue { operator, count } => say(
            locale,
            format!(
                "the operator `{operator}` takes one value, but a list of {count} starts at character {at}; use =in= or =out= to compare with a list"
            ),
            format!(
                "o operador `{operator}` recebe um valor, mas uma lista de {count} começa no caractere {at}; use =in= ou =out= para comparar com uma lista"
            ),
            format!(
                "l'opérateur `{operator}` prend une valeur, mais une liste de {count} commence au caractère {at} ; utilisez =in= ou =out= pour comparer à une liste"
            ),
        ),
        ParseErrorKind::TooDeep { max } => say(
            locale,
            format!("parentheses are nested more than {max} deep at character {at}"),
            format!("os parênteses estão aninhados mais de {max} níveis no caractere {at}"),
            format!("les parenthèses sont imbriquées sur plus de {max} niveaux au caractère {at}"),
        ),
    }
}

fn expected_word(expected: Expected, locale: Locale) -> &'static str {
    match (expected, locale) {
        (Expected::Selector, Locale::En) => "a selector (a field name such as jobOwner)",
        (Expected::Selector, Locale::PtBr) => "um seletor (um nome de campo como jobOwner)",
        (Expected::Selector, Locale::Fr) => "un sélecteur (un nom de champ comme jobOwner)",
        (Expected::Operator, Locale::En) => "a comparison operator (==, !=, =gt=, =in=, ...)",
        (Expected::Operator, Locale::PtBr) => "um operador de comparação (==, !=, =gt=, =in=, ...)",
        (Expected::Operator, Locale::Fr) => "un opérateur de comparaison (==, !=, =gt=, =in=, ...)",
        (Expected::Value, Locale::En) => "a value",
        (Expected::Value, Locale::PtBr) => "um valor",
        (Expected::Value, Locale::Fr) => "une valeur",
        (Expected::ValueSeparator, Locale::En) => "`,` before another value",
        (Expected::ValueSeparator, Locale::PtBr) => "`,` antes de outro valor",
        (Expected::ValueSeparator, Locale::Fr) => "`,` avant une autre valeur",
        (Expected::And, Locale::En) => "`;` (and)",
        (Expected::And, Locale::PtBr) => "`;` (e)",
        (Expected::And, Locale::Fr) => "`;` (et)",
        (Expected::Or, Locale::En) => "`,` (or)",
        (Expected::Or, Locale::PtBr) => "`,` (ou)",
        (Expected::Or, Locale::Fr) => "`,` (ou)",
        (Expected::Open, _) => "`(`",
        (Expected::Close, _) => "`)`",
        (Expected::End, Locale::En) => "the end of the query",
        (Expected::End, Locale::PtBr) => "o fim da consulta",
        (Expected::End, Locale::Fr) => "la fin de la requête",
    }
}

fn value_error(kind: &ValueErrorKind, at: usize, locale: Locale) -> String {
    match kind {
        ValueErrorKind::Wildcard { expected } => {
            let kind = type_name(*expected, locale);
            say(
                locale,
                format!("a `*` wildcard is only allowed in text, not in {kind} (character {at})"),
                format!("o curinga `*` só é permitido em texto, não em {kind} (caractere {at})"),
                format!("le joker `*` n'est permis que dans du texte, pas dans {kind} (caractère {at})"),
            )
        }
        ValueErrorKind::Invalid { text, expected: ValueType::DateTime } => say(
            locale,
            format!(
                "`{text}` at character {at} is not a date-time; write yyyy/MM/dd, yyyy/MM/dd HH:mm, yyyy/MM/dd HH:mm:ss or yyyy/MM/dd HH:mm:ss.SSS followed by an offset such as -03 or +0130, or RFC 3339 such as 2019-06-12T21:24:25.342Z"
            ),
            format!(
                "`{text}` no caractere {at} não é uma data/hora; escreva yyyy/MM/dd, yyyy/MM/dd HH:mm, yyyy/MM/dd HH:mm:ss ou yyyy/MM/dd HH:mm:ss.SSS seguido de um fuso como -03 ou +0130, ou RFC 3339 como 2019-06-12T21:24:25.342Z"
            ),
            format!(
                "`{text}` au caractère {at} n'est pas une date-heure ; écrivez yyyy/MM/dd, yyyy/MM/dd HH:mm, yyyy/MM/dd HH:mm:ss ou yyyy/MM/dd HH:mm:ss.SSS suivi d'un décalage comme -03 ou +0130, ou RFC 3339 comme 2019-06-12T21:24:25.342Z"
            ),
        ),
        ValueErrorKind::Invalid { text, expected } => {
            let kind = type_name(*expected, locale);
            say(
                locale,
                format!("`{text}` at character {at} is not {kind}"),
                format!("`{text}` no caractere {at} não é {kind}"),
                format!("`{text}` au caractère {at} n'est pas {kind}"),
            )
        }
        ValueErrorKind::MissingOffset { text } => say(
            locale,
            format!("the date-time `{text}` at character {at} has no time-zone offset; add one such as -0300 or +03"),
            format!("a data/hora `{text}` no caractere {at} não tem fuso horário; acrescente um como -0300 ou +03"),
            format!(
                "la date-heure `{text}` au caractère {at} n'a pas de décalage horaire ; ajoutez-en un comme -0300 ou +03"
            ),
        ),
        ValueErrorKind::NulCharacter => say(
            locale,
            format!("the value at character {at} holds a NUL character"),
            format!("o valor no caractere {at} contém um caractere NUL"),
            format!("la valeur au caractère {at} contient un caractère NUL"),
        ),
        ValueErrorKind::NotInList { text, expected, valid, suggestion } => {
            let (kind, valid) = (type_name(*expected, locale), valid.join(", "));
            let hint = suggestion.map(|s| {
                say(
                    locale,
                    format!(" (values are upper case: did you mean {s}?)"),
                    format!(" (os valores são em maiúsculas: quis dizer {s}?)"),
                    format!(" (les valeurs sont en majuscules : vouliez-vous dire {s} ?)"),
                )
            });
            let hint = hint.unwrap_or_default();
            say(
                locale,
                format!("`{text}` at character {at} is not {kind}{hint}; the values are {valid}"),
                format!("`{text}` no caractere {at} não é {kind}{hint}; os valores são {valid}"),
                format!("`{text}` au caractère {at} n'est pas {kind}{hint} ; les valeurs sont {valid}"),
            )
        }
    }
}

fn type_name(value_type: ValueType, locale: Locale) -> &'static str {
    match (value_type, locale) {
        (ValueType::Text, Locale::En) => "text",
        (ValueType::Text, Locale::PtBr) => "texto",
        (ValueType::Text, Locale::Fr) => "texte",
        (ValueType::Integer, Locale::En) => "an integer",
        (ValueType::Integer, Locale::PtBr) => "um inteiro",
        (ValueType::Integer, Locale::Fr) => "un entier",
        (ValueType::Decimal, Locale::En) => "a decimal number",
        (ValueType::Decimal, Locale::PtBr) => "um número decimal",
        (ValueType::Decimal, Locale::Fr) => "un nombre décimal",
        (ValueType::Boolean, Locale::En) => "a boolean",
        (ValueType::Boolean, Locale::PtBr) => "um booleano",
        (ValueType::Boolean, Locale::Fr) => "un booléen",
        (ValueType::DateTime, Locale::En) => "a date-time",
        (ValueType::DateTime, Locale::PtBr) => "uma data/hora",
        (ValueType::DateTime, Locale::Fr) => "une date-heure",
        (ValueType::JobStatus, Locale::En) => "a job status",
        (ValueType::JobStatus, Locale::PtBr) => "um status de job",
        (ValueType::JobStatus, Locale::Fr) => "un statut de job",
        (ValueType::ExitStatus, Locale::En) => "an exit status",
        (ValueType::ExitStatus, Locale::PtBr) => "um status de saída",
        (ValueType::ExitStatus, Locale::Fr) => "un statut de sortie",
    }
}

/// Problems with the other parameters of a search.
pub fn limit_too_large(limit: i64, max: i64, locale: Locale) -> String {
    say(
        locale,
        format!("limit {limit} is more than the maximum, {max}"),
        format!("limit {limit} é maior que o máximo, {max}"),
        format!("limit {limit} dépasse le maximum, {max}"),
    )
}

pub fn not_a_count(name: &str, text: &str, locale: Locale) -> String {
    say(
        locale,
        format!("`{name}` must be a whole number of 0 or more, not `{text}`"),
        format!("`{name}` deve ser um número inteiro maior ou igual a 0, não `{text}`"),
        format!("`{name}` doit être un nombre entier positif ou nul, pas `{text}`"),
    )
}

pub fn not_a_boolean(name: &str, text: &str, locale: Locale) -> String {
    say(
        locale,
        format!("`{name}` must be true or false, not `{text}`"),
        format!("`{name}` deve ser true ou false, não `{text}`"),
        format!("`{name}` doit valoir true ou false, pas `{text}`"),
    )
}

pub fn unknown_sort(attr: &str, locale: Locale) -> String {
    let valid = crate::query::selectors::sortable_names().join(", ");
    say(
        locale,
        format!("cannot sort by `{attr}`; sort by one of {valid}"),
        format!("não é possível ordenar por `{attr}`; ordene por um de {valid}"),
        format!("impossible de trier par `{attr}` ; triez par l'un de {valid}"),
    )
}

pub fn job_not_found(job_id: &str, locale: Locale) -> String {
    say(
        locale,
        format!("no job `{job_id}` in the history"),
        format!("nenhum job `{job_id}` no histórico"),
        format!("aucun job `{job_id}` dans l'historique"),
    )
}

pub fn database_unavailable(locale: Locale) -> String {
    say(
        locale,
        "the job history database is unavailable; try again shortly".into(),
        "o banco de dados do histórico de jobs está indisponível; tente novamente em instantes".into(),
        "la base de l'historique des jobs est indisponible ; réessayez dans un instant".into(),
    )
}

pub fn internal_error(locale: Locale) -> String {
    say(
        locale,
        "the job history could not answer; the X-Request-Id of this answer finds the cause in its logs".into(),
        "o histórico de jobs não conseguiu responder; o X-Request-Id desta resposta encontra a causa nos logs".into(),
        "l'historique des jobs n'a pas pu répondre ; le X-Request-Id de cette réponse retrouve la cause dans ses journaux".into(),
    )
}
