//! Option haggling against `serve()` with a hand-written client.

mod common;

use common::{Client, Server, info_payload, meta_payload, standard_exports};
use stencil_nbd::proto::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn list_names_every_export() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut client = Client::connect(server.addr).await;
    let replies = client.option(OPT_LIST, &[]).await;
    let names: Vec<String> = replies
        .iter()
        .filter(|r| r.kind == REP_SERVER)
        .map(|r| {
            let len = u32::from_be_bytes(r.data[..4].try_into().unwrap()) as usize;
            String::from_utf8(r.data[4..4 + len].to_vec()).unwrap()
        })
        .collect();
    assert_eq!(names, ["disk", "ro"]);
    assert_eq!(replies.last().unwrap().kind, REP_ACK);
    // LIST with data is invalid, and the session goes on.
    assert_eq!(client.option(OPT_LIST, b"x").await[0].kind, REP_ERR_INVALID);
    assert_eq!(client.option(OPT_LIST, &[]).await.len(), 3);
    server.stop().await;
}

#[tokio::test]
async fn info_reports_size_flags_name_and_block_sizes() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut client = Client::connect(server.addr).await;
    let replies = client
        .option(OPT_INFO, &info_payload("ro", &[INFO_NAME]))
        .await;
    let infos: Vec<&[u8]> = replies
        .iter()
        .filter(|r| r.kind == REP_INFO)
        .map(|r| &r.data[..])
        .collect();
    assert_eq!(infos.len(), 3, "export, name, block size");
    assert_eq!(&infos[0][..2], INFO_EXPORT.to_be_bytes());
    assert_eq!(
        u64::from_be_bytes(infos[0][2..10].try_into().unwrap()),
        65536
    );
    let flags = u16::from_be_bytes(infos[0][10..12].try_into().unwrap());
    assert_ne!(flags & FLAG_HAS_FLAGS, 0);
    assert_ne!(flags & FLAG_READ_ONLY, 0);
    assert_ne!(flags & FLAG_SEND_FLUSH, 0);
    assert_eq!(flags & FLAG_SEND_DF, 0, "DF only with structured replies");
    assert_eq!(infos[1], [&INFO_NAME.to_be_bytes()[..], b"ro"].concat());
    let mut block_size = INFO_BLOCK_SIZE.to_be_bytes().to_vec();
    for v in [1u32, 4096, 32 << 20] {
        block_size.extend_from_slice(&v.to_be_bytes());
    }
    assert_eq!(infos[2], block_size);
    assert_eq!(replies.last().unwrap().kind, REP_ACK);

    // INFO leaves the client in option haggling: GO still works, and the writable export has no
    // READ_ONLY flag. Block size only when asked for GO.
    let replies = client.go("disk", &[]).await;
    assert_eq!(replies.iter().filter(|r| r.kind == REP_INFO).count(), 1);
    assert_eq!(client.size, 1 << 20);
    assert_eq!(client.flags & FLAG_READ_ONLY, 0);
    assert_ne!(client.flags & FLAG_CAN_MULTI_CONN, 0);
    server.stop().await;
}

#[tokio::test]
async fn go_unknown_export_is_err_unknown_and_session_continues() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut client = Client::connect(server.addr).await;
    let replies = client.go("nope", &[]).await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].kind, REP_ERR_UNKNOWN);
    // Malformed GO (name length past the payload).
    let mut bad = info_payload("disk", &[]);
    bad[3] = 200;
    assert_eq!(client.option(OPT_GO, &bad).await[0].kind, REP_ERR_INVALID);
    let replies = client.go("disk", &[INFO_BLOCK_SIZE]).await;
    assert_eq!(replies.iter().filter(|r| r.kind == REP_INFO).count(), 2);
    assert_eq!(replies.last().unwrap().kind, REP_ACK);
    let mut client = client;
    assert_eq!(client.read(1, 0, 16).await.unwrap(), vec![0u8; 16]);
    server.stop().await;
}

#[tokio::test]
async fn abort_is_acked_then_closed() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut client = Client::connect(server.addr).await;
    let replies = client.option(OPT_ABORT, &[]).await;
    assert_eq!(replies[0].kind, REP_ACK);
    assert!(client.closed().await);
    server.stop().await;
}

#[tokio::test]
async fn unknown_and_oversized_options_are_refused_without_closing() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut client = Client::connect(server.addr).await;
    assert_eq!(client.option(99, b"whatever").await[0].kind, REP_ERR_UNSUP);
    assert_eq!(
        client.option(OPT_STARTTLS, &[]).await[0].kind,
        REP_ERR_UNSUP
    );
    assert_eq!(
        client.option(OPT_EXTENDED_HEADERS, &[]).await[0].kind,
        REP_ERR_UNSUP
    );
    // 1 MiB option: skipped, TOO_BIG.
    let big = vec![0x55u8; 1 << 20];
    assert_eq!(client.option(OPT_GO, &big).await[0].kind, REP_ERR_TOO_BIG);
    assert_eq!(client.go("disk", &[]).await.last().unwrap().kind, REP_ACK);
    server.stop().await;
}

#[tokio::test]
async fn hostile_option_length_is_not_allocated() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut client = Client::connect(server.addr).await;
    // Claim 4 GiB, send a little, then hang up: the server must neither allocate nor hang.
    let mut out = IHAVEOPT.to_be_bytes().to_vec();
    out.extend_from_slice(&OPT_GO.to_be_bytes());
    out.extend_from_slice(&u32::MAX.to_be_bytes());
    out.extend_from_slice(&[0u8; 1000]);
    client.stream.write_all(&out).await.unwrap();
    drop(client);
    // Still serving.
    let mut other = Client::open(server.addr, "disk", false, false).await;
    assert!(other.read(1, 0, 512).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn structured_reply_and_meta_context_negotiation() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut client = Client::connect(server.addr).await;
    // Meta contexts need structured replies first.
    let replies = client
        .option(OPT_LIST_META_CONTEXT, &meta_payload("disk", &[]))
        .await;
    assert_eq!(replies[0].kind, REP_ERR_INVALID);
    assert_eq!(
        client.option(OPT_STRUCTURED_REPLY, b"x").await[0].kind,
        REP_ERR_INVALID
    );
    client.structured_reply().await;

    // LIST with no query lists everything; "base:" lists the base namespace; others nothing.
    for queries in [
        &[][..],
        &["base:"][..],
        &["base:allocation", "qemu:dirty-bitmap:x"][..],
    ] {
        let replies = client
            .option(OPT_LIST_META_CONTEXT, &meta_payload("disk", queries))
            .await;
        assert_eq!(replies.len(), 2, "{queries:?}");
        assert_eq!(replies[0].kind, REP_META_CONTEXT);
        assert_eq!(&replies[0].data[4..], BASE_ALLOCATION.as_bytes());
        assert_eq!(replies[1].kind, REP_ACK);
    }
    let replies = client
        .option(
            OPT_LIST_META_CONTEXT,
            &meta_payload("disk", &["x-other:thing"]),
        )
        .await;
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].kind, REP_ACK);
    let replies = client
        .option(OPT_LIST_META_CONTEXT, &meta_payload("nope", &[]))
        .await;
    assert_eq!(replies[0].kind, REP_ERR_UNKNOWN);
    let mut truncated = meta_payload("disk", &["base:allocation"]);
    truncated.pop();
    let replies = client.option(OPT_SET_META_CONTEXT, &truncated).await;
    assert_eq!(replies[0].kind, REP_ERR_INVALID);

    let replies = client.set_meta_context("disk", &["base:allocation"]).await;
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0].kind, REP_META_CONTEXT);
    assert_eq!(
        u32::from_be_bytes(replies[0].data[..4].try_into().unwrap()),
        BASE_ALLOCATION_ID
    );
    assert_eq!(&replies[0].data[4..], BASE_ALLOCATION.as_bytes());
    assert_eq!(replies[1].kind, REP_ACK);
    client.go("disk", &[]).await;
    assert_ne!(client.flags & FLAG_SEND_DF, 0);
    server.stop().await;
}

#[tokio::test]
async fn export_name_option_old_style() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut client = Client::connect(server.addr).await;
    client.send_option(OPT_EXPORT_NAME, b"disk").await;
    assert_eq!(client.stream.read_u64().await.unwrap(), 1 << 20);
    let flags = client.stream.read_u16().await.unwrap();
    assert_ne!(flags & FLAG_HAS_FLAGS, 0);
    // NO_ZEROES negotiated: the next bytes are our reply, not 124 zeroes.
    assert_eq!(client.read(5, 0, 8).await.unwrap(), vec![0u8; 8]);

    // Without NO_ZEROES the 124 zero bytes follow.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut greeting = [0u8; 18];
    stream.read_exact(&mut greeting).await.unwrap();
    stream.write_u32(FLAG_C_FIXED_NEWSTYLE).await.unwrap();
    let mut out = IHAVEOPT.to_be_bytes().to_vec();
    out.extend_from_slice(&OPT_EXPORT_NAME.to_be_bytes());
    out.extend_from_slice(&4u32.to_be_bytes());
    out.extend_from_slice(b"disk");
    stream.write_all(&out).await.unwrap();
    let mut reply = [0xffu8; 8 + 2 + 124];
    stream.read_exact(&mut reply).await.unwrap();
    assert!(reply[10..].iter().all(|&b| b == 0));

    // Unknown name: the only possible answer is closing.
    let mut client = Client::connect(server.addr).await;
    client.send_option(OPT_EXPORT_NAME, b"nope").await;
    assert!(client.closed().await);
    server.stop().await;
}

#[tokio::test]
async fn bad_client_flags_or_option_magic_close_the_connection() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut greeting = [0u8; 18];
    stream.read_exact(&mut greeting).await.unwrap();
    stream.write_u32(0x8000_0000).await.unwrap();
    assert!(matches!(stream.read(&mut greeting).await, Ok(0) | Err(_)));

    let mut client = Client::connect(server.addr).await;
    client.stream.write_all(&[0xde; 16]).await.unwrap();
    assert!(client.closed().await);
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_clients_still_in_the_handshake() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;
    let mut client = Client::connect(server.addr).await;
    server.stop().await;
    assert!(client.closed().await);
}

#[tokio::test]
async fn meta_context_applies_only_to_the_export_it_was_set_for() {
    let (_, exports) = standard_exports();
    let server = Server::start(exports).await;

    let mut other = Client::connect(server.addr).await;
    other.structured_reply().await;
    other.set_meta_context("ro", &[BASE_ALLOCATION]).await;
    other.go("disk", &[]).await;
    other
        .send_request(0, CMD_BLOCK_STATUS, 1, 0, 4096, &[])
        .await;
    assert_eq!(other.read_reply().await.error(), EINVAL);

    // Old-style EXPORT_NAME honours a matching selection too.
    let mut old = Client::connect(server.addr).await;
    old.structured_reply().await;
    old.set_meta_context("disk", &[BASE_ALLOCATION]).await;
    old.send_option(OPT_EXPORT_NAME, b"disk").await;
    let mut reply = [0u8; 10];
    old.stream.read_exact(&mut reply).await.unwrap();
    old.send_request(0, CMD_BLOCK_STATUS, 2, 0, 4096, &[]).await;
    let reply = old.read_reply().await;
    assert_eq!(reply.error(), 0);
    assert!(matches!(
        reply,
        common::Reply::Chunk {
            kind: REPLY_TYPE_BLOCK_STATUS,
            ..
        }
    ));
    server.stop().await;
}
