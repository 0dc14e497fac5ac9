//! gRPC through tokengate: a tonic client and a tonic server (see issue 4).
