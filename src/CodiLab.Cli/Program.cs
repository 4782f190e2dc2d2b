using CodiLab.Cli;

return CodiLabCommand.Invoke(args, Console.Out, Console.Error);
