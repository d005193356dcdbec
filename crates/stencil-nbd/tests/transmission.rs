//! Transmission-phase commands against `serve()` with a hand-written client.

mod common;

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use common::{Client, Reply, Server, block_status_payload, standard_exports};
use stencil_nbd::proto::*;
use stencil_nbd::{BlockDevice, ExportMap, Extent, MemDevice};
use tokio::io::AsyncWriteExt;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn read_write_round_trip_simple_and_structured() {
    let (disk, exports) = standard_exports();
    let server = Server::start(exports).await;
    for structured in [false, true] {
        let mut client = Client::open(server.addr, "disk", structured, false).await;
        let data = pattern(100_000, structured as u8);
        assert_eq!(client.write(1, 12_345, &data).await.error(), 0);
        assert_eq!(
            client.read(2, 12_345, data.len() as u32).await.unwrap(),
            data
        );
        let mut direct = vec![0u8; data.len()];
        disk.read_at(12_345, &mut direct).unwrap();
        assert_eq!(direct, data, "the write reached the device");
    }
    server.stop().await;
}

#[tokio::test]
async fn structured_read_is_one_final_data_chunk() {
    let (disk, exports) = standard_exports();
    disk.write_at(4096, &[9u8; 4096], false).unwrap();
    let server = Server::start(exports).await;
    let mut client = Client::open(server.addr, "disk", true, false).await;
    client
        .send_request(CMD_FLAG_DF, CMD_READ, 77, 4096, 4096, &[])
        .await;
    match client.read_reply().await {
        Reply::Chunk {
            flags,
            kind,
            cookie,
            payload,
        } => {
            assert_eq!(
                (flags, kind, cookie),
                (REPLY_FLAG_DONE, REPLY_TYPE_OFFSET_DATA, 77)
            );
            assert_eq!(u64::from_be_bytes(payload[..8].try_into().unwrap()), 4096);
            assert_eq!(&payload[8..], &[9u8; 4096][..]);
        }
        other => panic!("unexpected {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn bad_ranges_are_einval_and_the_connection_survives() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    for structured in [false, true] {
        let mut client = Client::open(server.addr, "disk", structured, false).await;
        let size = client.size;
        assert_eq!(
            client.read(1, size - 10, 11).await,
            Err(EINVAL),
            "past the end"
        );
        assert_eq!(
            client.read(2, u64::MAX - 1, 4).await,
            Err(EINVAL),
            "offset overflow"
        );
        assert_eq!(client.read(3, 0, 0).await, Err(EINVAL), "zero length");
        assert_eq!(
            client.read(4, 0, (32 << 20) + 1).await,
            Err(EINVAL),
            "over 32 MiB"
        );
        assert_eq!(client.write(5, size - 1, &[1, 2]).await.error(), EINVAL);
        client.send_request(0, CMD_TRIM, 6, size, 1, &[]).await;
        assert_eq!(client.read_reply().await.error(), EINVAL);
        client.send_request(0, 42, 7, 0, 1, &[]).await;
        assert_eq!(client.read_reply().await.error(), EINVAL, "unknown command");
        client.send_request(1 << 9, CMD_FLUSH, 8, 0, 0, &[]).await;
        assert_eq!(client.read_reply().await.error(), EINVAL, "unknown flag");
        assert_eq!(client.read(9, size - 10, 10).await.unwrap(), vec![0u8; 10]);
    }
    server.stop().await;
}

#[tokio::test]
async fn writes_to_a_read_only_export_are_eperm() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut client = Client::open(server.addr, "ro", false, false).await;
    assert_ne!(client.flags & FLAG_READ_ONLY, 0);
    assert_eq!(client.write(1, 0, &[1u8; 4096]).await.error(), EPERM);
    client.send_request(0, CMD_TRIM, 2, 0, 4096, &[]).await;
    assert_eq!(client.read_reply().await.error(), EPERM);
    client
        .send_request(0, CMD_WRITE_ZEROES, 3, 0, 4096, &[])
        .await;
    assert_eq!(client.read_reply().await.error(), EPERM);
    // The refused payload was skipped: the stream is still in sync and the data unchanged.
    assert_eq!(client.read(4, 0, 4096).await.unwrap(), vec![7u8; 4096]);
    client.send_request(0, CMD_FLUSH, 5, 0, 0, &[]).await;
    assert_eq!(client.read_reply().await.error(), 0);
    server.stop().await;
}

#[tokio::test]
async fn block_status_reports_holes() {
    let (disk, exports) = standard_exports();
    disk.write_at(128 * 1024, &[1u8; 100], false).unwrap(); // allocates block 2
    let server = Server::start(exports).await;
    let mut client = Client::open(server.addr, "disk", true, true).await;
    client
        .send_request(0, CMD_BLOCK_STATUS, 1, 0, 1 << 20, &[])
        .await;
    let Reply::Chunk {
        flags,
        kind,
        payload,
        ..
    } = client.read_reply().await
    else {
        panic!("simple reply")
    };
    assert_eq!((flags, kind), (REPLY_FLAG_DONE, REPLY_TYPE_BLOCK_STATUS));
    let (id, extents) = block_status_payload(&payload);
    assert_eq!(id, BASE_ALLOCATION_ID);
    let hole = STATE_HOLE | STATE_ZERO;
    assert_eq!(
        extents,
        vec![
            (128 << 10, hole),
            (64 << 10, 0),
            ((1 << 20) - (192 << 10), hole)
        ]
    );

    client
        .send_request(CMD_FLAG_REQ_ONE, CMD_BLOCK_STATUS, 2, 100, 1 << 19, &[])
        .await;
    let Reply::Chunk { payload, .. } = client.read_reply().await else {
        panic!("simple reply")
    };
    assert_eq!(
        block_status_payload(&payload).1,
        vec![((128 << 10) - 100, hole)]
    );

    // TRIM makes the block a hole again.
    client
        .send_request(0, CMD_TRIM, 3, 128 << 10, 64 << 10, &[])
        .await;
    assert_eq!(client.read_reply().await.error(), 0);
    client
        .send_request(0, CMD_BLOCK_STATUS, 4, 0, 1 << 20, &[])
        .await;
    let Reply::Chunk { payload, .. } = client.read_reply().await else {
        panic!("simple reply")
    };
    assert_eq!(block_status_payload(&payload).1, vec![(1 << 20, hole)]);

    // Without a negotiated context BLOCK_STATUS is EINVAL.
    let mut plain = Client::open(server.addr, "disk", true, false).await;
    plain
        .send_request(0, CMD_BLOCK_STATUS, 5, 0, 4096, &[])
        .await;
    assert_eq!(plain.read_reply().await.error(), EINVAL);
    server.stop().await;
}

#[tokio::test]
async fn write_zeroes_trim_and_flush() {
    let (disk, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut client = Client::open(server.addr, "disk", false, false).await;
    assert_eq!(client.write(1, 0, &[0xabu8; 256 * 1024]).await.error(), 0);
    assert_eq!(disk.allocated_blocks(), 4);
    client
        .send_request(
            CMD_FLAG_NO_HOLE | CMD_FLAG_FUA,
            CMD_WRITE_ZEROES,
            2,
            0,
            64 << 10,
            &[],
        )
        .await;
    assert_eq!(client.read_reply().await.error(), 0);
    assert_eq!(
        disk.allocated_blocks(),
        4,
        "NO_HOLE keeps the block allocated"
    );
    client
        .send_request(0, CMD_WRITE_ZEROES, 3, 64 << 10, 64 << 10, &[])
        .await;
    assert_eq!(client.read_reply().await.error(), 0);
    assert_eq!(disk.allocated_blocks(), 3, "may trim");
    client
        .send_request(CMD_FLAG_FUA, CMD_TRIM, 4, 128 << 10, 100, &[])
        .await;
    assert_eq!(client.read_reply().await.error(), 0);
    client.send_request(0, CMD_FLUSH, 5, 0, 0, &[]).await;
    assert_eq!(client.read_reply().await.error(), 0);
    let data = client.read(6, 0, 256 * 1024).await.unwrap();
    assert!(data[..(128 << 10) + 100].iter().all(|&b| b == 0));
    assert!(data[(128 << 10) + 100..].iter().all(|&b| b == 0xab));
    server.stop().await;
}

#[tokio::test]
async fn pipelined_requests_all_get_answers() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut client = Client::open(server.addr, "disk", false, false).await;
    let n = 64u64;
    let len = 16 * 1024;
    for i in 0..n {
        client
            .send_request(
                0,
                CMD_WRITE,
                i,
                i * len as u64,
                len,
                &pattern(len as usize, i as u8),
            )
            .await;
    }
    let mut seen = HashMap::new();
    for _ in 0..n {
        let reply = client.read_reply().await;
        assert_eq!(reply.error(), 0);
        assert!(seen.insert(reply.cookie(), ()).is_none());
    }
    assert_eq!(seen.len(), n as usize);
    for i in 0..n {
        assert_eq!(
            client.read(1000 + i, i * len as u64, len).await.unwrap(),
            pattern(len as usize, i as u8)
        );
    }
    // Disconnect cleanly.
    client.send_request(0, CMD_DISC, 0, 0, 0, &[]).await;
    assert!(client.closed().await);
    server.stop().await;
}

#[tokio::test]
async fn garbage_magic_closes_only_that_connection() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut good = Client::open(server.addr, "disk", false, false).await;
    let mut bad = Client::open(server.addr, "disk", false, false).await;
    bad.stream.write_all(&[0x42; 28]).await.unwrap();
    assert!(bad.closed().await);
    assert_eq!(good.write(1, 0, b"still here").await.error(), 0);
    let mut fresh = Client::open(server.addr, "disk", true, false).await;
    assert_eq!(fresh.read(2, 0, 10).await.unwrap(), b"still here");
    server.stop().await;
}

/// Fails every call with a chosen error kind; reads sleep first (for the shutdown test).
struct FailingDevice(io::ErrorKind, Duration);

impl BlockDevice for FailingDevice {
    fn size(&self) -> u64 {
        1 << 20
    }
    fn read_at(&self, _: u64, buf: &mut [u8]) -> io::Result<()> {
        std::thread::sleep(self.1);
        if self.0 == io::ErrorKind::Other {
            buf.fill(3);
            return Ok(());
        }
        Err(self.0.into())
    }
    fn write_at(&self, _: u64, _: &[u8], _: bool) -> io::Result<()> {
        Err(self.0.into())
    }
    fn flush(&self) -> io::Result<()> {
        panic!("flush panics")
    }
    fn trim(&self, _: u64, _: u64) -> io::Result<()> {
        Err(self.0.into())
    }
    fn write_zeroes(&self, _: u64, _: u64, _: bool, _: bool) -> io::Result<()> {
        Err(self.0.into())
    }
    fn block_status(&self, _: u64, _: u64) -> io::Result<Vec<Extent>> {
        Ok(vec![Extent::data(0)])
    }
}

#[tokio::test]
async fn device_errors_map_to_eio_enospc_and_never_kill_the_server() {
    let exports = ExportMap::new()
        .with(
            "io",
            Arc::new(FailingDevice(io::ErrorKind::BrokenPipe, Duration::ZERO)),
        )
        .with(
            "full",
            Arc::new(FailingDevice(io::ErrorKind::StorageFull, Duration::ZERO)),
        );
    let server = Server::start(Arc::new(exports)).await;
    let mut io_client = Client::open(server.addr, "io", true, true).await;
    assert_eq!(io_client.read(1, 0, 512).await, Err(EIO));
    assert_eq!(io_client.write(2, 0, &[0; 512]).await.error(), EIO);
    client_flush_is_eio(&mut io_client).await;
    io_client
        .send_request(0, CMD_BLOCK_STATUS, 4, 0, 512, &[])
        .await;
    assert_eq!(
        io_client.read_reply().await.error(),
        EIO,
        "no usable extents"
    );
    let mut full = Client::open(server.addr, "full", false, false).await;
    assert_eq!(full.write(1, 0, &[0; 512]).await.error(), ENOSPC);
    server.stop().await;
}

async fn client_flush_is_eio(client: &mut Client) {
    client.send_request(0, CMD_FLUSH, 3, 0, 0, &[]).await;
    assert_eq!(
        client.read_reply().await.error(),
        EIO,
        "a panicking device call is EIO"
    );
}

#[tokio::test]
async fn shutdown_answers_in_flight_requests_then_closes() {
    let slow = Arc::new(FailingDevice(
        io::ErrorKind::Other,
        Duration::from_millis(300),
    ));
    let mut server = Server::start(Arc::new(ExportMap::new().with("slow", slow))).await;
    let mut client = Client::open(server.addr, "slow", false, false).await;
    client.send_request(0, CMD_READ, 1, 0, 4096, &[]).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.trigger_stop();
    let reply = client.read_reply().await;
    assert_eq!((reply.cookie(), reply.error()), (1, 0));
    let mut data = vec![0u8; 4096];
    tokio::io::AsyncReadExt::read_exact(&mut client.stream, &mut data)
        .await
        .unwrap();
    assert_eq!(data, vec![3u8; 4096]);
    assert!(client.closed().await);
    tokio::time::timeout(Duration::from_secs(5), server.join())
        .await
        .expect("serve returned");
    // The listener is gone.
    let refused = tokio::net::TcpStream::connect(client.stream.peer_addr().unwrap()).await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn memdevice_is_shared_across_connections() {
    let disk = Arc::new(MemDevice::new(1 << 20));
    let server = Server::start(Arc::new(ExportMap::new().with("", disk))).await;
    let mut a = Client::open(server.addr, "", false, false).await;
    let mut b = Client::open(server.addr, "", true, false).await;
    assert_eq!(a.write(1, 500, b"hello").await.error(), 0);
    assert_eq!(b.read(1, 500, 5).await.unwrap(), b"hello");
    server.stop().await;
}
