//! The verifier's keys fetched from a JWKS URL: cached, fetched again for a new key (a rotation),
//! not fetched again for every forged token, and a 503 while none can be fetched.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::jwk::JwkSet;
use service_kit::Role;
use service_kit::auth::{AuthError, Claims, KeySource, SigningKey, Verifier};
use service_kit::testing::unix_now;

#[derive(Default)]
struct Published {
    keys: Mutex<Option<JwkSet>>,
    fetches: AtomicUsize,
}

async fn jwks(published: web::Data<Published>) -> HttpResponse {
    published.fetches.fetch_add(1, Ordering::SeqCst);
    match published.keys.lock().unwrap().clone() {
        Some(keys) => HttpResponse::Ok().json(keys),
        None => HttpResponse::ServiceUnavailable().finish(),
    }
}

fn gateway_stand_in(published: Arc<Published>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().unwrap());
    let data = web::Data::from(published);
    let server =
        HttpServer::new(move || App::new().app_data(data.clone()).route("/.well-known/jwks.json", web::get().to(jwks)))
            .workers(1)
            .listen(listener)
            .unwrap()
            .run();
    tokio::spawn(server);
    url
}

fn token(key: &SigningKey, user: &str) -> String {
    let now = unix_now();
    key.sign(&Claims::new(user, user, &[Role::Viewer], now, now + 60)).unwrap()
}

#[tokio::test]
async fn keys_are_fetched_once_again_for_a_rotation_and_not_for_every_unknown_key() {
    let published = Arc::new(Published::default());
    let (first, _) = SigningKey::generate().unwrap();
    *published.keys.lock().unwrap() = Some(first.jwks());
    let verifier = Verifier::new(KeySource::Url(gateway_stand_in(published.clone())));

    for _ in 0..5 {
        assert_eq!(verifier.verify(&token(&first, "ann")).await.unwrap().user, "ann");
    }
    assert_eq!(published.fetches.load(Ordering::SeqCst), 1, "fetched once, then cached");

    // The gateway rotates its key: the first token with the new key makes the service fetch again.
    let (second, _) = SigningKey::generate().unwrap();
    *published.keys.lock().unwrap() = Some(JwkSet { keys: vec![second.jwk(), first.jwk()] });
    tokio::time::sleep(service_kit::auth::REFETCH_PAUSE).await;
    assert_eq!(verifier.verify(&token(&second, "bob")).await.unwrap().user, "bob");
    assert_eq!(published.fetches.load(Ordering::SeqCst), 2);

    // Forged tokens naming keys nobody publishes: refused without asking the gateway each time.
    let (forger, _) = SigningKey::generate().unwrap();
    for _ in 0..20 {
        let refused = verifier.verify(&token(&forger, "mallory")).await.unwrap_err();
        assert!(matches!(refused, AuthError::Invalid(_)), "{refused:?}");
    }
    assert_eq!(published.fetches.load(Ordering::SeqCst), 2, "no fetch within the pause");

    // The first key is withdrawn: its tokens, checked before, fail as soon as a fetch shows it gone.
    let ann = token(&first, "ann");
    assert!(verifier.verify(&ann).await.is_ok());
    let (third, _) = SigningKey::generate().unwrap();
    *published.keys.lock().unwrap() = Some(third.jwks());
    tokio::time::sleep(service_kit::auth::REFETCH_PAUSE).await;
    assert_eq!(verifier.verify(&token(&third, "carl")).await.unwrap().user, "carl");
    let refused = verifier.verify(&ann).await.unwrap_err();
    assert!(matches!(refused, AuthError::Invalid(_)), "{refused:?}");
}

#[tokio::test]
async fn without_any_key_the_answer_is_503_and_keys_published_later_are_used() {
    let published = Arc::new(Published::default());
    let verifier = Verifier::new(KeySource::Url(gateway_stand_in(published.clone())));
    let (key, _) = SigningKey::generate().unwrap();
    let refused = verifier.verify(&token(&key, "ann")).await.unwrap_err();
    assert!(matches!(refused, AuthError::KeysUnavailable(_)), "{refused:?}");
    assert_eq!(refused.status(), 503);
    assert_eq!(verifier.verify(&token(&key, "ann")).await.unwrap_err().status(), 503, "still none within the pause");

    *published.keys.lock().unwrap() = Some(key.jwks());
    tokio::time::sleep(service_kit::auth::REFETCH_PAUSE).await;
    assert_eq!(verifier.verify(&token(&key, "ann")).await.unwrap().user, "ann");
}
