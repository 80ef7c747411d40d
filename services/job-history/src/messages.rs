//! Error messages in the languages the history speaks (`locale`: `en`, `pt_BR`, `fr`). The query
//! errors are kinds with positions (from the common crate); their words are chosen here.

use std::str::FromStr;

use common::rsql::value::{ValueErrorKind, ValueType};
use common::rsql::{Expected, Operator, ParseErrorKind};

use crate::query::QueryError;
use crate::query::limits::{Limit, TooLarge};

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

/// Picks the translation (the English text comes from the common crate).
fn translate(locale: Locale, pt: String, fr: String) -> String {
    if locale == Locale::PtBr { pt } else { fr }
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
        // English is the common crate's own wording; only the translations are written here.
        QueryError::Parse(parse) if locale == Locale::En => parse.to_string(),
        QueryError::Value(value) if locale == Locale::En => value.to_string(),
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
        QueryError::TooLarge(too_large) => too_large_message(too_large, at, locale),
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

fn too_large_message(error: &TooLarge, at: usize, locale: Locale) -> String {
    let TooLarge { actual, max, limit, .. } = *error;
    let setting = limit.setting();
    match limit {
        Limit::Length => say(
            locale,
            format!("the query is {actual} characters long; at most {max} are allowed ({setting})"),
            format!("a consulta tem {actual} caracteres; no máximo {max} são permitidos ({setting})"),
            format!("la requête fait {actual} caractères ; {max} au plus sont permis ({setting})"),
        ),
        Limit::Comparisons => say(
            locale,
            format!(
                "the query has {actual} comparisons; at most {max} are allowed, and the first one too many is at character {at} ({setting})"
            ),
            format!(
                "a consulta tem {actual} comparações; no máximo {max} são permitidas, e a primeira a mais está no caractere {at} ({setting})"
            ),
            format!(
                "la requête a {actual} comparaisons ; {max} au plus sont permises, et la première de trop est au caractère {at} ({setting})"
            ),
        ),
        Limit::Subqueries => say(
            locale,
            format!(
                "the AND group that reaches character {at} describes more than {max} parameters, algorithms or statuses, each a subquery; at most {max} are allowed in one AND group ({setting}): split the search, or use =in= for several values of one field"
            ),
            format!(
                "o grupo AND que chega ao caractere {at} descreve mais de {max} parâmetros, algoritmos ou status, cada um uma subconsulta; no máximo {max} são permitidos em um grupo AND ({setting}): divida a busca, ou use =in= para vários valores de um campo"
            ),
            format!(
                "le groupe ET qui atteint le caractère {at} décrit plus de {max} paramètres, algorithmes ou statuts, chacun une sous-requête ; {max} au plus sont permis dans un groupe ET ({setting}) : divisez la recherche, ou utilisez =in= pour plusieurs valeurs d'un champ"
            ),
        ),
        Limit::ListValues => say(
            locale,
            format!(
                "the list has {actual} values; at most {max} are allowed, and the first one too many is at character {at} ({setting})"
            ),
            format!(
                "a lista tem {actual} valores; no máximo {max} são permitidos, e o primeiro a mais está no caractere {at} ({setting})"
            ),
            format!(
                "la liste a {actual} valeurs ; {max} au plus sont permises, et la première de trop est au caractère {at} ({setting})"
            ),
        ),
    }
}

/// A parse error in Portuguese or French.
fn parse_error(kind: &ParseErrorKind, at: usize, locale: Locale) -> String {
    match kind {
        ParseErrorKind::Empty => translate(locale, "a consulta está vazia".into(), "la requête est vide".into()),
        ParseErrorKind::Unexpected { expected, found } => {
            let words: Vec<&str> = expected.iter().map(|e| expected_word(*e, locale)).collect();
            let or = "ou";
            let expected = match words.split_last() {
                Some((last, [])) => (*last).to_owned(),
                Some((last, rest)) => format!("{} {or} {last}", rest.join(", ")),
                None => "?".to_owned(),
            };
            match found {
                Some(c) => translate(
                    locale,
                    format!("esperado {expected} no caractere {at}, mas foi encontrado `{c}`"),
                    format!("attendu {expected} au caractère {at}, mais trouvé `{c}`"),
                ),
                None => translate(
                    locale,
                    format!("esperado {expected} no caractere {at}, mas a consulta termina ali"),
                    format!("attendu {expected} au caractère {at}, mais la requête s'arrête là"),
                ),
            }
        }
        ParseErrorKind::UnterminatedQuote { quote } => translate(
            locale,
            format!("a aspa {quote} aberta no caractere {at} nunca é fechada"),
            format!("le guillemet {quote} ouvert au caractère {at} n'est jamais fermé"),
        ),
        ParseErrorKind::UnknownOperator { operator } => {
            let all = Operator::all_spellings();
            translate(
                locale,
                format!("operador desconhecido `{operator}` no caractere {at}; os operadores são {all}"),
                format!("opérateur inconnu `{operator}` au caractère {at} ; les opérateurs sont {all}"),
            )
        }
        ParseErrorKind::ListForSingleValue { operator, count } => translate(
            locale,
            format!(
                "o operador `{operator}` recebe um valor, mas uma lista de {count} começa no caractere {at}; use =in= ou =out= para comparar com uma lista"
            ),
            format!(
                "l'opérateur `{operator}` prend une valeur, mais une liste de {count} commence au caractère {at} ; utilisez =in= ou =out= pour comparer à une liste"
            ),
        ),
        ParseErrorKind::TooDeep { max } => translate(
            locale,
            format!("os parênteses estão aninhados mais de {max} níveis no caractere {at}"),
            format!("les parenthèses sont imbriquées sur plus de {max} niveaux au caractère {at}"),
        ),
        ParseErrorKind::ValueAfterNullCheck { operator } => translate(
            locale,
            format!(
                "`{operator}` não recebe valor, mas um está escrito no caractere {at}; escreva o seletor e `{operator}` sozinhos, como em endTime{operator}"
            ),
            format!(
                "`{operator}` ne prend pas de valeur, mais une est écrite au caractère {at} ; écrivez le sélecteur et `{operator}` seuls, comme endTime{operator}"
            ),
        ),
        ParseErrorKind::NoBlankBeforeKeyword { keyword } => translate(
            locale,
            format!(
                "`{keyword}` no caractere {at} precisa de um espaço antes, pois as palavras and e or ficam entre espaços (`;` e `,` não precisam)"
            ),
            format!(
                "`{keyword}` au caractère {at} doit être précédé d'un blanc, car les mots and et or se placent entre blancs (`;` et `,` n'en ont pas besoin)"
            ),
        ),
    }
}

/// In Portuguese or French (English is the common crate's).
fn expected_word(expected: Expected, locale: Locale) -> &'static str {
    match (expected, locale) {
        (Expected::Selector, Locale::PtBr) => "um seletor (um nome de campo como jobOwner)",
        (Expected::Selector, _) => "un sélecteur (un nom de champ comme jobOwner)",
        (Expected::Operator, Locale::PtBr) => "um operador de comparação (==, !=, =gt=, =in=, ...)",
        (Expected::Operator, _) => "un opérateur de comparaison (==, !=, =gt=, =in=, ...)",
        (Expected::Value, Locale::PtBr) => "um valor",
        (Expected::Value, _) => "une valeur",
        (Expected::ValueSeparator, Locale::PtBr) => "`,` antes de outro valor",
        (Expected::ValueSeparator, _) => "`,` avant une autre valeur",
        (Expected::And, Locale::PtBr) => "`;` (e)",
        (Expected::And, _) => "`;` (et)",
        (Expected::Or, Locale::PtBr) => "`,` (ou)",
        (Expected::Or, _) => "`,` (ou)",
        (Expected::Open, _) => "`(`",
        (Expected::Close, _) => "`)`",
        (Expected::End, Locale::PtBr) => "o fim da consulta",
        (Expected::End, _) => "la fin de la requête",
    }
}

/// A value error in Portuguese or French.
fn value_error(kind: &ValueErrorKind, at: usize, locale: Locale) -> String {
    match kind {
        ValueErrorKind::Wildcard { expected } => {
            let kind = type_name(*expected, locale);
            translate(
                locale,
                format!("o curinga `*` só é permitido em texto e status, não em {kind} (caractere {at})"),
                format!("le joker `*` n'est permis que dans du texte et les statuts, pas dans {kind} (caractère {at})"),
            )
        }
        ValueErrorKind::NoMatch { pattern, expected, valid, suggestion } => {
            let (kind, valid) = (type_name(*expected, locale), valid.join(", "));
            let hint = suggestion.as_ref().map(|s| {
                translate(
                    locale,
                    format!(" (os valores são em maiúsculas: quis dizer {s}?)"),
                    format!(" (les valeurs sont en majuscules : vouliez-vous dire {s} ?)"),
                )
            });
            let hint = hint.unwrap_or_default();
            translate(
                locale,
                format!(
                    "`{pattern}` no caractere {at} não corresponde a nenhum valor{hint}; os valores ({kind}) são {valid}"
                ),
                format!(
                    "`{pattern}` au caractère {at} ne correspond à aucune valeur{hint} ; les valeurs ({kind}) sont {valid}"
                ),
            )
        }
        ValueErrorKind::Invalid { text, expected: ValueType::DateTime } => translate(
            locale,
            format!(
                "`{text}` no caractere {at} não é uma data/hora; escreva yyyy/MM/dd, yyyy/MM/dd HH:mm, yyyy/MM/dd HH:mm:ss ou yyyy/MM/dd HH:mm:ss.SSS seguido de um fuso como -03 ou +0130, ou RFC 3339 como 2019-06-12T21:24:25.342Z"
            ),
            format!(
                "`{text}` au caractère {at} n'est pas une date-heure ; écrivez yyyy/MM/dd, yyyy/MM/dd HH:mm, yyyy/MM/dd HH:mm:ss ou yyyy/MM/dd HH:mm:ss.SSS suivi d'un décalage comme -03 ou +0130, ou RFC 3339 comme 2019-06-12T21:24:25.342Z"
            ),
        ),
        ValueErrorKind::Invalid { text, expected } => {
            let kind = type_name(*expected, locale);
            translate(
                locale,
                format!("`{text}` no caractere {at} não é {kind}"),
                format!("`{text}` au caractère {at} n'est pas {kind}"),
            )
        }
        ValueErrorKind::MissingOffset { text } => translate(
            locale,
            format!("a data/hora `{text}` no caractere {at} não tem fuso horário; acrescente um como -0300 ou +03"),
            format!(
                "la date-heure `{text}` au caractère {at} n'a pas de décalage horaire ; ajoutez-en un comme -0300 ou +03"
            ),
        ),
        ValueErrorKind::NulCharacter => translate(
            locale,
            format!("o valor no caractere {at} contém um caractere NUL"),
            format!("la valeur au caractère {at} contient un caractère NUL"),
        ),
        ValueErrorKind::NotInList { text, expected, valid, suggestion } => {
            let (kind, valid) = (type_name(*expected, locale), valid.join(", "));
            let hint = suggestion.map(|s| {
                translate(
                    locale,
                    format!(" (os valores são em maiúsculas: quis dizer {s}?)"),
                    format!(" (les valeurs sont en majuscules : vouliez-vous dire {s} ?)"),
                )
            });
            let hint = hint.unwrap_or_default();
            translate(
                locale,
                format!("`{text}` no caractere {at} não é {kind}{hint}; os valores são {valid}"),
                format!("`{text}` au caractère {at} n'est pas {kind}{hint} ; les valeurs sont {valid}"),
            )
        }
    }
}

fn type_name(value_type: ValueType, locale: Locale) -> &'static str {
    match (value_type, locale) {
        (_, Locale::En) => value_type.name(),
        (ValueType::Text, Locale::PtBr) => "texto",
        (ValueType::Text, Locale::Fr) => "texte",
        (ValueType::Integer, Locale::PtBr) => "um inteiro",
        (ValueType::Integer, Locale::Fr) => "un entier",
        (ValueType::Decimal, Locale::PtBr) => "um número decimal",
        (ValueType::Decimal, Locale::Fr) => "un nombre décimal",
        (ValueType::Boolean, Locale::PtBr) => "um booleano",
        (ValueType::Boolean, Locale::Fr) => "un booléen",
        (ValueType::DateTime, Locale::PtBr) => "uma data/hora",
        (ValueType::DateTime, Locale::Fr) => "une date-heure",
        (ValueType::JobStatus, Locale::PtBr) => "um status de job",
        (ValueType::JobStatus, Locale::Fr) => "un statut de job",
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

pub fn query_timeout(seconds: u64, locale: Locale) -> String {
    say(
        locale,
        format!(
            "the search did not finish within {seconds} s and was stopped; narrow it (a time range, fewer wildcards) or try again later"
        ),
        format!(
            "a busca não terminou em {seconds} s e foi interrompida; restrinja-a (um intervalo de tempo, menos curingas) ou tente novamente mais tarde"
        ),
        format!(
            "la recherche n'a pas abouti en {seconds} s et a été arrêtée ; restreignez-la (une plage de temps, moins de jokers) ou réessayez plus tard"
        ),
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

/// Archived logs: their parameters, and why a log is not there.
pub fn unknown_container(text: &str, locale: Locale) -> String {
    say(
        locale,
        format!("`container` must be runner or fetch, not `{text}`"),
        format!("`container` deve ser runner ou fetch, não `{text}`"),
        format!("`container` doit valoir runner ou fetch, pas `{text}`"),
    )
}

pub fn not_an_attempt(text: &str, locale: Locale) -> String {
    say(
        locale,
        format!("`attempt` must be a whole number of 1 or more (1 is the first attempt), not `{text}`"),
        format!("`attempt` deve ser um número inteiro maior ou igual a 1 (1 é a primeira tentativa), não `{text}`"),
        format!("`attempt` doit être un nombre entier d'au moins 1 (1 est la première tentative), pas `{text}`"),
    )
}

pub fn too_many_lines(lines: i64, max: i64, locale: Locale) -> String {
    say(
        locale,
        format!("tailLines {lines} is more than the maximum, {max}; use offset to read further"),
        format!("tailLines {lines} é maior que o máximo, {max}; use offset para ler mais"),
        format!("tailLines {lines} dépasse le maximum, {max} ; utilisez offset pour lire plus loin"),
    )
}

pub fn pattern_length(max: usize, locale: Locale) -> String {
    say(
        locale,
        format!("`grep` must have 1 to {max} bytes"),
        format!("`grep` deve ter de 1 a {max} bytes"),
        format!("`grep` doit faire de 1 à {max} octets"),
    )
}

pub fn not_a_regex(pattern: &str, error: &str, locale: Locale) -> String {
    say(
        locale,
        format!("`{pattern}` is not a regular expression: {error}"),
        format!("`{pattern}` não é uma expressão regular: {error}"),
        format!("`{pattern}` n'est pas une expression régulière : {error}"),
    )
}

pub fn still_running(container: &str, attempt: i32, locale: Locale) -> String {
    say(
        locale,
        format!(
            "the run has not ended: the log of its {container} container (attempt {attempt}) is archived when that container ends; until then the deployer serves it live"
        ),
        format!(
            "a execução não terminou: o log do contêiner {container} (tentativa {attempt}) é arquivado quando esse contêiner termina; até lá o deployer o serve ao vivo"
        ),
        format!(
            "l'exécution n'est pas terminée : le journal de son conteneur {container} (tentative {attempt}) est archivé quand ce conteneur se termine ; d'ici là le deployer le sert en direct"
        ),
    )
}

pub fn never_started(container: &str, exit_status: &str, locale: Locale) -> String {
    say(
        locale,
        format!("the run ended ({exit_status}) before its {container} container started: it wrote no log"),
        format!("a execução terminou ({exit_status}) antes de o contêiner {container} começar: ele não escreveu log"),
        format!(
            "l'exécution s'est terminée ({exit_status}) avant que son conteneur {container} ne démarre : il n'a écrit aucun journal"
        ),
    )
}

pub fn no_such_attempt(attempt: i32, attempts: i64, locale: Locale) -> String {
    say(
        locale,
        format!("the run had {attempts} attempt(s): attempt {attempt} never started"),
        format!("a execução teve {attempts} tentativa(s): a tentativa {attempt} nunca começou"),
        format!("l'exécution a eu {attempts} tentative(s) : la tentative {attempt} n'a jamais démarré"),
    )
}

pub fn log_not_read(container: &str, attempt: i32, why: &str, locale: Locale) -> String {
    say(
        locale,
        format!(
            "the log of the {container} container (attempt {attempt}) was dropped: the deployer could not read it ({why})"
        ),
        format!(
            "o log do contêiner {container} (tentativa {attempt}) foi perdido: o deployer não conseguiu lê-lo ({why})"
        ),
        format!(
            "le journal du conteneur {container} (tentative {attempt}) a été perdu : le deployer n'a pas pu le lire ({why})"
        ),
    )
}

pub fn log_removed(
    container: &str,
    attempt: i32,
    when: &chrono::DateTime<chrono::Utc>,
    by_size: bool,
    locale: Locale,
) -> String {
    let when = common::time::format_utc_millis(when);
    let (en, pt, fr) = if by_size {
        (
            "the archive reached its size limit",
            "o arquivo atingiu seu limite de tamanho",
            "l'archive a atteint sa taille maximale",
        )
    } else {
        (
            "it was older than the retention keeps",
            "era mais antigo do que a retenção mantém",
            "il était plus ancien que ce que la rétention garde",
        )
    };
    say(
        locale,
        format!(
            "the log of the {container} container (attempt {attempt}) was removed by the retention at {when}: {en}"
        ),
        format!("o log do contêiner {container} (tentativa {attempt}) foi removido pela retenção em {when}: {pt}"),
        format!(
            "le journal du conteneur {container} (tentative {attempt}) a été supprimé par la rétention le {when} : {fr}"
        ),
    )
}

pub fn never_archived(container: &str, attempt: i32, locale: Locale) -> String {
    say(
        locale,
        format!(
            "the run ended but no log of its {container} container (attempt {attempt}) was archived: it was dropped before the deployer could send it, or it is still on its way"
        ),
        format!(
            "a execução terminou mas nenhum log do contêiner {container} (tentativa {attempt}) foi arquivado: foi perdido antes que o deployer pudesse enviá-lo, ou ainda está a caminho"
        ),
        format!(
            "l'exécution est terminée mais aucun journal de son conteneur {container} (tentative {attempt}) n'a été archivé : il a été perdu avant que le deployer ne puisse l'envoyer, ou il est encore en route"
        ),
    )
}
