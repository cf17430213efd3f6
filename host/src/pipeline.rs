pub struct Sekisho; pub struct Options; pub struct Sanitized;
