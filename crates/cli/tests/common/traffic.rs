//! Client threads that keep POSTing one image to `/predict` until stopped, keeping every
//! answer's status, `X-Model-Version` and the server's own `timings_ms.total`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use super::http::Request;

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub version: Option<String>,
    pub total_ms: Option<f64>,
}

pub struct Traffic {
    stop: Arc<AtomicBool>,
    clients: Vec<JoinHandle<Vec<Answer>>>,
}

impl Traffic {
    /// `clients` threads posting `image` (a PNG) as a raw body.
    pub fn start(addr: SocketAddr, clients: usize, image: Vec<u8>) -> Traffic {
        let stop = Arc::new(AtomicBool::new(false));
        let clients = (0..clients)
            .map(|_| {
                let (stop, image) = (stop.clone(), image.clone());
                std::thread::spawn(move || {
                    let mut answers = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let r = Request::post("/predict", "image/png", image.clone()).send(addr);
                        let total_ms = (r.status == 200)
                            .then(|| r.json()["timings_ms"]["total"].as_f64())
                            .flatten();
                        answers.push(Answer {
                            status: r.status,
                            version: r.header("x-model-version").map(str::to_owned),
                            total_ms,
                        });
                    }
                    answers
                })
            })
            .collect();
        Traffic { stop, clients }
    }

    /// Stops the clients and returns every answer.
    pub fn stop(self) -> Vec<Answer> {
        self.stop.store(true, Ordering::Relaxed);
        self.clients
            .into_iter()
            .flat_map(|c| c.join().expect("a client thread panicked"))
            .collect()
    }
}
