//! WebSocket frames through tokengate with tokio-tungstenite (see issue 4).
