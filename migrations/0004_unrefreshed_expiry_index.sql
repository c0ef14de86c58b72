DROP INDEX `accounts_status_expiry_idx`;--> statement-breakpoint
CREATE INDEX `accounts_unrefreshed_expiry_idx` ON `accounts` (`status`,`token_expires_at`) WHERE "accounts"."next_refresh_at" IS NULL;