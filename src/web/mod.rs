//! The web server: GitHub webhooks, health and metrics. (Not yet built.)
