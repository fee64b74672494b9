//! LVS side of the model: virtual server groups, virtual and real servers,
//! checkers, the SSL client context.
use serde::{Deserialize, Serialize};

macro_rules! placeholder {
    ($($name:ident),*) => {$(
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {}
    )*};
}
placeholder!(VirtualServerGroup, VirtualServer, SslContext);
