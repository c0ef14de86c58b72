CREATE TABLE `oauth_state_uses` (
	`state_hash` text PRIMARY KEY NOT NULL,
	`workspace_id` text NOT NULL,
	`consumed_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `oauth_state_uses_expires_idx` ON `oauth_state_uses` (`expires_at`);--> statement-breakpoint
CREATE TABLE `platform_apps` (
	`platform` text NOT NULL,
	`instance` text NOT NULL,
	`client_id` text NOT NULL,
	`client_secret_enc` text NOT NULL,
	`key_version` text NOT NULL,
	`redirect_uri` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`platform`, `instance`)
);
