//! `tidings serve`: the test httpbin (`tidings-httpbin`) on a loopback port, to try the CLI
//! and the library by hand.

use std::process::ExitCode;

use lexopt::prelude::*;

use crate::Usage;

/// Starts the httpbin and serves until interrupted.
pub fn run(mut parser: lexopt::Parser) -> Result<ExitCode, Usage> {
    let mut port: u16 = 8080;
    let mut tls = false;
    while let Some(argument) = parser.next()? {
        match argument {
            Long("port") => {
                let value = parser.value()?.string()?;
                port = value
                    .parse()
                    .map_err(|_| Usage::new(format!("{value:?} is not a port")).at(Some("--port".into())))?;
            }
            Long("tls") => tls = true,
            Short('h') | Long("help") => {
                print!("{}", crate::help::one("--port").unwrap_or_default());
                print!("\n{}", crate::help::one("--tls").unwrap_or_default());
                return Ok(ExitCode::SUCCESS);
            }
            Long(name) => {
                let hint =
                    crate::help::closest(name).map(|near| format!(" (did you mean {near}?)")).unwrap_or_default();
                return Err(Usage::new(format!("unknown option --{name} for serve{hint}")));
            }
            other => return Err(other.unexpected().into()),
        }
    }
    let server = tidings_httpbin::Server::start_on(port, tls)
        .map_err(|error| Usage::new(format!("cannot listen on 127.0.0.1:{port}: {error}")).at(Some("--port".into())))?;
    let base = server.url("");
    let mut banner = format!("serving httpbin on {base} (Ctrl-C stops it)\n");
    if let Some(pem) = server.ca_pem() {
        let path = std::env::temp_dir().join(format!("tidings-httpbin-ca-{}.pem", server.address().port()));
        std::fs::write(&path, pem).map_err(|error| Usage::new(format!("cannot write the CA certificate: {error}")))?;
        banner +=
            &format!("its certificate's CA: {} (tidings --cacert {} {base}/get)\n", path.display(), path.display());
    } else {
        banner += &format!("try: tidings {base}/get\n");
    }
    // One write, and no panic if nobody reads it any more (a closed pipe): `println!` would
    // take the server down with it.
    let mut stdout = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut stdout, banner.as_bytes()).and_then(|()| std::io::Write::flush(&mut stdout));
    drop(stdout);
    server.wait();
    Ok(ExitCode::SUCCESS)
}
